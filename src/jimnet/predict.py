"""Cluster, align and average a particle set with a trained Jim-Net (METHOD.md §6.2).

1. Streaming feature pass: M_CP penultimate features and argmax predictions per particle.
2. t-SNE → GMM on the features gives the clusters (the M_CP predictions are recorded too).
3. Per cluster, iterative reference-free alignment with the network as the aligner: the initial
   reference is one member (seeded choice); every member is aligned onto the current reference
   and the wedge-weighted average of the aligned members becomes the next reference.
4. Half maps from two halves of each cluster (``rlnRandomSubset`` if present, else alternating
   members), FSC between them.

Particles are streamed in batches, so memory does not grow with the number of particles
(apart from one feature vector and one pose per particle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from jimnet.average import WedgeWeightedAverager
from jimnet.geometry import invert_pose
from jimnet.io import ParticleSet
from jimnet.train.clustering import cluster_features
from jimnet.train.data import Normalisation, global_normalisation

Progress = Callable[[str, int, int], None]


@dataclass
class ClassResult:
    """One cluster's outputs."""

    number: int  # 1-based class number
    members: np.ndarray
    average: torch.Tensor
    half_maps: tuple[torch.Tensor, torch.Tensor]


@dataclass
class Prediction:
    """Everything :func:`predict` computes.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape (n,)
        0-based GMM cluster of each particle.
    mcp_labels : numpy.ndarray of int, shape (n,)
        0-based argmax of the cluster head M_CP.
    features, embedding : numpy.ndarray
        M_CP features (n, F) and what the GMM was fitted on (t-SNE, (n, 3)).
    rotations, shifts : numpy.ndarray, shapes (n, 3, 3), (n, 3)
        Pose of each particle's class average in the particle (reference → particle, zyx,
        voxels): what a RELION STAR stores.
    classes : list of ClassResult
    """

    labels: np.ndarray
    mcp_labels: np.ndarray
    features: np.ndarray
    embedding: np.ndarray
    rotations: np.ndarray
    shifts: np.ndarray
    classes: list[ClassResult] = field(default_factory=list)


def model_normalisation(extra: dict, particles: ParticleSet) -> Normalisation:
    """The training set's normalisation stored with the model, else this set's own."""
    stored = extra.get("normalisation")
    if stored:
        return Normalisation(float(stored[0]), float(stored[1]))
    return global_normalisation(particles)


def _features(model: nn.Module, particles: ParticleSet, norm: Normalisation, batch_size: int,
              device: torch.device, progress: Progress) -> tuple[np.ndarray, np.ndarray]:
    feats, preds = [], []
    n = len(particles)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            idx = list(range(start, min(start + batch_size, n)))
            logits, f = model.classify(norm.apply(particles.get_batch(idx)).to(device))
            feats.append(f.cpu().double().numpy())
            preds.append(logits.argmax(1).cpu().numpy())
            progress("features", idx[-1] + 1, n)
    return np.concatenate(feats), np.concatenate(preds)


def _align_members(model: nn.Module, particles: ParticleSet, members: np.ndarray,
                   reference: torch.Tensor, norm: Normalisation, batch_size: int,
                   device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Poses mapping each member onto ``reference`` (``rigid_transform(member, R, t) ≈ ref``).

    No tilt ranges are passed: the predicted pose does not depend on the imputation.
    """
    rots, shifts = [], []
    ref = ((reference - reference.mean()) / reference.std().clamp_min(1e-12)).to(device)
    with torch.no_grad():
        for start in range(0, len(members), batch_size):
            idx = members[start:start + batch_size]
            src = norm.apply(particles.get_batch(idx.tolist())).to(device)
            out = model(src, ref.expand_as(src))
            r, t = out.pose_numpy()
            rots.append(r)
            shifts.append(t)
    return np.concatenate(rots), np.concatenate(shifts)


def _average(particles: ParticleSet, members: np.ndarray, rots: np.ndarray, shifts: np.ndarray,
             tilts: np.ndarray, batch_size: int) -> torch.Tensor:
    """Wedge-weighted average of ``members`` given their average → particle poses."""
    acc = WedgeWeightedAverager(particles.box_size)
    for start in range(0, len(members), batch_size):
        sel = slice(start, start + batch_size)
        idx = members[sel]
        acc.add(particles.get_batch(idx.tolist()), torch.as_tensor(rots[sel]),
                torch.as_tensor(shifts[sel]), [tuple(t) for t in tilts[idx]])
    return acc.result()


def _half_sets(particles: ParticleSet, members: np.ndarray) -> np.ndarray:
    """Half-set id (1 or 2) of each member: ``rlnRandomSubset`` if present, else alternating."""
    if "rlnRandomSubset" in particles.table.columns:
        subset = particles.table["rlnRandomSubset"].to_numpy()[members]
        if set(np.unique(subset)) <= {1, 2} and len(np.unique(subset)) == 2:
            return subset.astype(int)
    return 1 + (np.arange(len(members)) % 2)


def predict(model: nn.Module, particles: ParticleSet, *, n_clusters: int | None = None,
            normalisation: Normalisation | None = None, iterations: int = 3,
            batch_size: int = 16, seed: int = 0, use_tsne: bool = True,
            device: str | torch.device = "cpu", progress: Progress | None = None) -> Prediction:
    """Cluster, align and average ``particles`` with a trained :class:`~jimnet.models.JimNet3D`.

    Parameters
    ----------
    model : JimNet3D
        Trained model (its ``config.n_clusters`` is the default K).
    particles : ParticleSet
    n_clusters : int, optional
        Number of GMM clusters (default: the model's K).
    normalisation : Normalisation, optional
        Standardisation of the inputs (default: this set's global mean/std).
    iterations : int
        Reference-free alignment/averaging rounds per cluster.
    batch_size, seed, use_tsne, device, progress
        As in training.
    """
    report = progress or (lambda stage, done, total: None)
    dev = torch.device(device)
    model = model.to(dev).eval()
    norm = normalisation or global_normalisation(particles, batch_size)
    k = int(n_clusters or model.config.n_clusters)
    features, mcp = _features(model, particles, norm, batch_size, dev, report)
    labels, embedding = cluster_features(features, k, seed=seed, use_tsne=use_tsne)
    tilts = particles.tilt_ranges()
    n = len(particles)
    rotations = np.tile(np.eye(3), (n, 1, 1))
    shifts = np.zeros((n, 3))
    classes = []
    rng = np.random.default_rng(seed)
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if len(members) == 0:
            continue
        reference = particles[int(rng.choice(members))]
        for it in range(iterations):
            # The network gives member → average; keep average → member (what a STAR stores).
            rots, sh = invert_pose(*_align_members(model, particles, members, reference, norm,
                                                   batch_size, dev))
            reference = _average(particles, members, rots, sh, tilts, batch_size)
            report(f"class {c + 1}", it + 1, iterations)
        halves = _half_sets(particles, members)
        half_maps = tuple(
            _average(particles, members[halves == h], rots[halves == h], sh[halves == h],
                     tilts, batch_size) for h in (1, 2))
        rotations[members], shifts[members] = rots, sh
        classes.append(ClassResult(c + 1, members, reference, half_maps))
    return Prediction(labels, mcp, features, embedding, rotations, shifts, classes)
