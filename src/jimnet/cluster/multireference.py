"""Alignment-aware clustering: multi-reference classification against class averages.

Shape is only visible once particles share a frame. Each round aligns every particle to every
class average with the classical engine (:func:`jimnet.align.align_to_reference`: wedge-aware
constrained correlation, global search), assigns it to the class it matches best and rebuilds
each class's wedge-weighted average from its members' poses. The first averages come from a
starting labelling (e.g. the spectral floor, :mod:`jimnet.cluster.spectral`) by reference-free
averaging of each class.

Comparing raw correlations across references favours whichever average correlates best with
everything (a smoother, larger or better-populated one): on four similar-size structures at SNR 1
the raw argmax merged two classes into one within a round. Each reference's scores are therefore
standardised over the particles (z-scores) before the argmax: a particle goes to the class it
matches unusually well.

Particles are streamed in batches; memory holds K references, K averagers and O(n K) numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from jimnet.align import AlignParams, align_to_reference
from jimnet.average import WedgeWeightedAverager
from jimnet.features import iterate_batches
from jimnet.io import ParticleSet

Progress = Callable[[str, int, int], None]


@dataclass
class MultiReferenceResult:
    """Outcome of :func:`multireference_classification`.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape (n,)
        0-based class of each particle after the last round.
    rotations, shifts : numpy.ndarray, shapes (n, 3, 3), (n, 3)
        Pose of the particle's class average in the particle (reference → particle, zyx, voxels).
    scores : numpy.ndarray, shape (n, K)
        Constrained correlation of every particle with every class average of the last round.
    references : list of torch.Tensor, each (N, N, N)
        The class averages of the last round (an empty class keeps its previous average).
    history : list of dict
        Per round: class sizes, mean best score, fraction of particles that changed class.
    """

    labels: NDArray[np.int64]
    rotations: NDArray[np.float64]
    shifts: NDArray[np.float64]
    scores: NDArray[np.float64]
    references: list[torch.Tensor]
    history: list[dict] = field(default_factory=list)


def assign_by_score(scores: NDArray[np.float64]) -> NDArray[np.int64]:
    """Class of each particle: argmax over references of its column-standardised score.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n, K)

    Returns
    -------
    numpy.ndarray of int, shape (n,)
    """
    s = np.asarray(scores, dtype=np.float64)
    z = (s - s.mean(0)) / np.maximum(s.std(0), 1e-12)
    return z.argmax(1).astype(np.int64)


def score_against_references(
    particles: ParticleSet,
    references: Sequence[torch.Tensor],
    *,
    params: AlignParams | None = None,
    method: str = "ht",
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Best pose and score of every reference in every particle.

    Returns
    -------
    scores : numpy.ndarray, shape (n, K)
    rotations : numpy.ndarray, shape (n, K, 3, 3)
        Reference → particle.
    shifts : numpy.ndarray, shape (n, K, 3)
        Voxels, zyx.
    """
    n, k = len(particles), len(references)
    tilts = [tuple(t) for t in particles.tilt_ranges()]
    scores = np.zeros((n, k))
    rotations = np.zeros((n, k, 3, 3))
    shifts = np.zeros((n, k, 3))
    for j, ref in enumerate(references):
        done = 0

        def tick(b: int, j: int = j) -> None:
            nonlocal done
            done += b
            if progress is not None:
                progress(f"align to class {j + 1}/{k}", done, n)

        res = align_to_reference(iterate_batches(particles, np.arange(n), batch_size), ref,
                                 tilts, method=method, params=params, device=device,
                                 batch_size=batch_size, progress=tick)
        scores[:, j] = res.score.numpy()
        rotations[:, j] = res.rotation.numpy()
        shifts[:, j] = res.shift.numpy()
    return scores, rotations, shifts


def class_average(particles: ParticleSet, members: NDArray[np.int64], rotations: NDArray,
                  shifts: NDArray, *, batch_size: int = 16,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """Wedge-weighted average of ``members`` under their reference → particle poses."""
    tilts = particles.tilt_ranges()
    acc = WedgeWeightedAverager(particles.box_size, device=device)
    for start in range(0, len(members), batch_size):
        idx = members[start:start + batch_size]
        acc.add(particles.get_batch(idx.tolist()), torch.as_tensor(rotations[idx]),
                torch.as_tensor(shifts[idx]), [tuple(t) for t in tilts[idx]])
    return acc.result()


def initial_references(particles: ParticleSet, labels: NDArray[np.int64], n_classes: int, *,
                       max_members: int = 200, iterations: int = 2, seed: int = 0,
                       params: AlignParams | None = None, method: str = "ht",
                       batch_size: int = 16, device: torch.device | str = "cpu",
                       progress: Progress | None = None) -> list[torch.Tensor]:
    """One reference-free average per starting class (:func:`jimnet.average.iterative_average`).

    Each class uses at most ``max_members`` members (a seeded random subset), which bounds the
    memory and time of this step whatever the number of particles. A class without members gets
    a seeded random particle as its reference.
    """
    from jimnet.average.iterative import iterative_average

    rng = np.random.default_rng(seed)
    tilts = particles.tilt_ranges()
    refs = []
    for c in range(n_classes):
        members = np.flatnonzero(labels == c)
        if len(members) == 0:
            refs.append(particles[int(rng.integers(len(particles)))])
            continue
        if len(members) > max_members:
            members = np.sort(rng.choice(members, max_members, replace=False))

        def tick(done: int, total: int, c: int = c) -> None:
            if progress is not None:
                progress(f"initial average {c + 1}/{n_classes}", done, total)

        res = iterative_average(particles.get_batch(members.tolist()),
                                [tuple(t) for t in tilts[members]], n_iterations=iterations,
                                method=method, params=params, seed=int(rng.integers(2**31)),
                                device=device, batch_size=batch_size, progress=tick)
        refs.append(res.average)
    return refs


def multireference_classification(
    particles: ParticleSet,
    initial_labels: NDArray[np.int64],
    n_classes: int,
    *,
    rounds: int = 3,
    params: AlignParams | None = None,
    method: str = "ht",
    seed: int = 0,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> MultiReferenceResult:
    """Refine a starting labelling by aligning every particle to every class average.

    Parameters
    ----------
    particles : ParticleSet
    initial_labels : numpy.ndarray of int, shape (n,)
        0-based starting classes (e.g. from the spectral floor).
    n_classes : int
        K.
    rounds : int
        Align-to-all / reassign / re-average rounds (≥ 1). Stops early once no particle
        changes class.
    params, method
        Search settings of :func:`jimnet.align.align_to_reference` (global search each round).
    seed : int
        Seeds the starting averages' subsets and reference choice.

    Returns
    -------
    MultiReferenceResult
    """
    if rounds < 1:
        raise ValueError("rounds must be ≥ 1")
    labels = np.asarray(initial_labels, dtype=np.int64)
    if labels.shape != (len(particles),) or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"initial_labels must be {len(particles)} ids in 0…{n_classes - 1}")
    refs = initial_references(particles, labels, n_classes, seed=seed, params=params,
                              method=method, batch_size=batch_size, device=device,
                              progress=progress)
    history: list[dict] = []
    n = len(particles)
    for r in range(rounds):
        scores, rots, shifts = score_against_references(
            particles, refs, params=params, method=method, batch_size=batch_size, device=device,
            progress=progress)
        new = assign_by_score(scores)
        rot = rots[np.arange(n), new]
        shift = shifts[np.arange(n), new]
        changed = float((new != labels).mean())
        labels = new
        for c in range(n_classes):
            members = np.flatnonzero(labels == c)
            if len(members):  # an empty class keeps its average and may win particles back
                refs[c] = class_average(particles, members, rot, shift, batch_size=batch_size,
                                        device=device)
        history.append({"round": r + 1, "class_sizes": np.bincount(labels, minlength=n_classes)
                        .tolist(), "mean_score": float(scores[np.arange(n), labels].mean()),
                        "changed": changed})
        if changed == 0.0:
            break
    return MultiReferenceResult(labels, rot, shift, scores, refs, history)
