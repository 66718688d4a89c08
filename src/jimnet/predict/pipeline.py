"""Cluster, align and average a particle set with a trained Jim-Net (METHOD.md §6.2).

1. Streaming feature pass: M_CP penultimate features and argmax predictions per particle.
2. Clusters: t-SNE → GMM on the features (``cluster="network"``, the paper), PCA → GMM on the
   wedge-aware shell power spectra (``cluster="spectral"``) or on the particles' differences
   from one common-frame average (``cluster="frame"``, :mod:`jimnet.cluster.frame`), or
   ``cluster="auto"`` (default): spectral, unless its clusters are unstable
   (:func:`jimnet.cluster.clustering_stability` below :data:`STABLE_CLUSTERS`), in which case
   the common-frame features are computed too and the more stable of the two is kept. The
   M_CP predictions are recorded too.
3. Alignment, ``align="classical"`` (default): reference-free refinement of each cluster by the
   classical engine (:func:`jimnet.align.refine.refine`, :func:`classical_alignment`): gold-standard
   half sets, global constrained-correlation search against a seeded member and then against
   each half's class average (of its best-scoring half) for ``iterations`` rounds, the first
   two from ``n_starts`` seeded members of which, per class, the half-1 and half-2 starts whose
   averages agree best are kept (each cluster masked by its measured particle radius); the last
   ``reassign_rounds`` global rounds move particles between clusters by their centred scores
   against every class average; then ``local_rounds`` local rounds.
   This is not sharded under ``torchrun``: every rank computes it (same result).

   ``align="hybrid"``: the classical path's global rounds, then its ``local_rounds`` done by
   the network instead (:func:`network_refinement`): every member is compared with its own
   half's map posed by its current pose and seen through its missing wedge, and the network's
   answer corrects the pose.

   ``align="network"``: per cluster, iterative reference-free alignment with the network as the
   aligner: the initial
   reference is one member (seeded choice); every member is aligned onto the current reference
   and the wedge-weighted average of the aligned members becomes the next reference.
   Optionally (``refine="ht"|"fa"``) one classical pass follows: every member is aligned to the
   network's class average by H-T / F&A constrained-correlation search (:mod:`jimnet.align`,
   both missing wedges accounted for) and the average is recomputed from those poses.
4. Half maps from two halves of each cluster (``rlnRandomSubset`` if present, else alternating
   members), FSC between them.

Particles are streamed in batches, so memory does not grow with the number of particles
(apart from one feature vector and one pose per particle): no step holds more than one batch of
volumes, plus one reference and the averagers' Fourier sums.

Under ``torchrun`` (an initialised process group) the work is sharded across ranks: each rank
computes the features of its contiguous shard and the features are gathered on every rank; the
labels are broadcast from rank 0; per cluster, each rank aligns its shard of the members and adds
them to its averagers, whose Fourier sums are then summed over the ranks, so every rank has the
same reference each iteration; the members' poses are gathered at the end. Every rank returns
the complete :class:`Prediction`; only the caller decides which rank writes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from jimnet.align import AlignParams, align_to_reference
from jimnet.align.centre import band_energy_profile, particle_radius_from_profile
from jimnet.align.refine import RefineConfig, RefineResult, state_from
from jimnet.align.refine import refine as run_refinement
from jimnet.average import WedgeWeightedAverager
from jimnet.cluster import (
    clustering_stability,
    embed_features,
    embed_for_clustering,
    fit_gmm,
    frame_correlations,
    frame_features,
    select_n_clusters,
    spectral_features,
)
from jimnet.distributed import broadcast_array, gather_rows, rank_and_world, shard, sum_across_ranks
from jimnet.features import (
    Normalisation,
    classify_particles,
    global_normalisation,
    iterate_batches,
)
from jimnet.fourier import wedge_mask
from jimnet.geometry import compose_poses, invert_pose
from jimnet.io import ParticleSet
from jimnet.models import warp
from jimnet.predict.split_merge import split_and_merge

Progress = Callable[[str, int, int], None]


@dataclass
class ClassResult:
    """One cluster's outputs."""

    number: int  # 1-based class number
    members: np.ndarray
    average: torch.Tensor
    half_maps: tuple[torch.Tensor, torch.Tensor] | None  # None for a one-member cluster
    particle_radius: float | None = None  # voxels, where the classical path used one per class
    halves: np.ndarray | None = None  # half set (1 or 2) of each member, where the path fixed them


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
    bic : dict of int to float
        BIC of the GMM for every K tried when K was chosen automatically (else empty).
    cluster_method : str
        What the clusters were computed from ("network", "spectral" or "frame"; with
        ``cluster="auto"`` the one chosen).
    cluster_labels : numpy.ndarray of int, shape (n,), optional
        The clustering step's 0-based labels where the alignment then moved particles between
        clusters (``labels`` are the final ones); ``None`` otherwise.
    align_method : str
        What the poses were computed by ("classical", "hybrid" or "network").
    cluster_stability : dict of str to float
        With ``cluster="auto"``: the stability of each clustering tried
        (:func:`jimnet.cluster.clustering_stability`).
    """

    labels: np.ndarray
    mcp_labels: np.ndarray
    features: np.ndarray
    embedding: np.ndarray
    rotations: np.ndarray
    shifts: np.ndarray
    classes: list[ClassResult] = field(default_factory=list)
    bic: dict[int, float] = field(default_factory=dict)
    cluster_method: str = "network"
    align_method: str = "network"
    cluster_labels: np.ndarray | None = None
    cluster_stability: dict[str, float] = field(default_factory=dict)


CLUSTER_METHODS: tuple[str, ...] = ("auto", "frame", "network", "spectral")
# ``cluster="auto"`` keeps the spectral clusters when their stability (mean adjusted Rand index
# of GMMs fitted on random halves, in the space's own coordinates) reaches this; below it the
# common-frame features are tried (benchmarks/results/cluster_start_snr1.md, _snr0.1.md).
STABLE_CLUSTERS = 0.6
ALIGN_METHODS: tuple[str, ...] = ("classical", "hybrid", "network")


def classical_params(box_size: int, particle_radius: float | None = None,
                     symmetry: str = "C1") -> tuple[AlignParams, AlignParams]:
    """Search settings of the classical path: (global rounds, local rounds).

    The global rounds use a coarse 25° grid refined to 4° (the local rounds finish the job),
    with a band factor of 3.5 so that the coarse levels reach the shells a CTF leaves signal in
    (at 1.5 a 25° level would be scored on ≤ 3.4 cycles per box): 2.5–4× faster than the
    engine's defaults and somewhat less accurate against a known reference
    (benchmarks/results/band_factor.md). ``particle_radius`` (voxels) defaults to 5/16 of the
    box (10 voxels at 32³). ``symmetry`` (e.g. ``"D2"``) restricts the searches to one
    asymmetric unit and symmetrises the averages.
    """
    radius = particle_radius if particle_radius is not None else 5.0 * box_size / 16.0
    coarse = AlignParams(angular_step=25.0, final_step=4.0, n_candidates=2, n_peaks=50,
                         band_factor=3.5, particle_radius=radius, symmetry=symmetry)
    return coarse, AlignParams(particle_radius=radius, symmetry=symmetry)
SPLIT_MERGE = True  # predict's default for split-and-merge (benchmarks/results/split_merge_*)
MAX_AUTO_CLUSTERS = 10  # largest K tried by n_clusters="auto"
SPACE_GMM = {"covariance_type": "diag", "n_init": 10}  # the GMM of the spectral/frame spaces


def common_frame_space(particles: ParticleSet, *, n_starts: int = 2, symmetry: str = "C1",
                       seed: int = 0, batch_size: int = 16, device: torch.device | str = "cpu",
                       progress: Progress | None = None) -> np.ndarray:
    """:func:`jimnet.cluster.frame_features` after aligning all particles as one class.

    The common frame comes from :func:`classical_alignment` with every particle in one cluster
    (3 global rounds, the first two from ``n_starts`` starts, 1 local round).

    Returns
    -------
    numpy.ndarray, shape (n, c)
        Principal-component coordinates of the particles' differences from the average.
    """
    _, rotations, shifts, (one,) = classical_alignment(
        particles, np.zeros(len(particles), dtype=np.int64), global_rounds=3, local_rounds=1,
        n_starts=n_starts, symmetry=symmetry, seed=seed, device=device, progress=progress)
    report = (lambda done, total: progress("common-frame features", done, total)) \
        if progress else None
    return frame_features(particles, rotations, shifts, one.average,
                          particle_radius=float(one.particle_radius), batch_size=batch_size,
                          progress=report)


def assign_clusters(particles: ParticleSet, features: np.ndarray, n_clusters: int | str, *,
                    method: str = "network", seed: int = 0, use_tsne: bool = True,
                    batch_size: int = 16, n_starts: int = 2, symmetry: str = "C1",
                    device: torch.device | str = "cpu", progress: Progress | None = None
                    ) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """GMM clusters of the particles in the space ``method`` names.

    Parameters
    ----------
    particles : ParticleSet
    features : numpy.ndarray, shape (n, F)
        The network's clustering features (used by ``method="network"``).
    n_clusters : int or "auto"
        K, or ``"auto"``: the K in ``1 … min(MAX_AUTO_CLUSTERS, n − 1)`` with the lowest BIC
        (:func:`jimnet.cluster.select_n_clusters`).
    method : {"network", "spectral", "frame"}
        ``"network"``: t-SNE → GMM of the network features (the paper). ``"spectral"``: PCA of
        the wedge-aware shell power spectra (:mod:`jimnet.cluster.spectral`) → GMM, the
        rotation-invariant floor that needs no model. ``"frame"``: PCA of the differences from
        a common-frame average (:func:`common_frame_space`) → GMM; sees shape, needs signal.
    n_starts, symmetry, device
        ``"frame"`` only: its alignment (:func:`common_frame_space`).

    Returns
    -------
    labels : numpy.ndarray of int, shape (n,)
        0-based.
    embedding : numpy.ndarray, shape (n, d)
        The space the GMM was fitted in.
    bic : dict of int to float
        The BIC curve when K was chosen automatically, else empty.
    """
    if method == "spectral":
        report = (lambda done, total: progress("spectra", done, total)) if progress else None
        space = embed_features(spectral_features(particles, batch_size=batch_size,
                                                 progress=report))
    elif method == "frame":
        space = common_frame_space(particles, n_starts=n_starts, symmetry=symmetry, seed=seed,
                                   batch_size=batch_size, device=device, progress=progress)
    elif method == "network":
        space = embed_for_clustering(features, seed=seed, use_tsne=use_tsne)
    else:
        raise ValueError(f"cluster method must be 'network', 'spectral' or 'frame', "
                         f"got {method!r}")
    bic: dict[int, float] = {}
    if n_clusters == "auto":
        n_clusters, bic = select_n_clusters(space, min(MAX_AUTO_CLUSTERS, len(space) - 1),
                                            seed=seed)
    # On the spectral PCA a full covariance per class over-fits the minor components
    # (benchmarks/results/cluster_shapes.md, run 3: diagonal + 10 starts 0.66 → 0.80 / 0.44 →
    # 0.71 on shape-b at SNR 1 / 0.1, 0.84 in `make demo`; shape-a 0.60 → 0.50).
    gmm = SPACE_GMM if method in ("spectral", "frame") else {}
    return fit_gmm(space, int(n_clusters), seed=seed, **gmm), space, bic


def choose_clusters(particles: ParticleSet, features: np.ndarray, n_clusters: int | str,
                    method: str, **options
                    ) -> tuple[np.ndarray, np.ndarray, dict[int, float], str, dict[str, float]]:
    """:func:`assign_clusters`, with ``method="auto"`` resolved (see the module doc).

    Returns its labels, space and BIC curve, the method used and, for ``"auto"``, the
    stability of each clustering tried.
    """
    if method != "auto":
        return *assign_clusters(particles, features, n_clusters, method=method, **options), \
            method, {}
    tried = {}
    stability = {}
    for candidate in ("spectral", "frame"):
        labels, space, bic = assign_clusters(particles, features, n_clusters, method=candidate,
                                             **options)
        tried[candidate] = labels, space, bic
        stability[candidate] = clustering_stability(space, int(labels.max()) + 1,
                                                    seed=options.get("seed", 0), **SPACE_GMM)
        if stability[candidate] >= STABLE_CLUSTERS:
            break
    best = auto_cluster_choice(stability)
    return *tried[best], best, stability


def auto_cluster_choice(stability: dict[str, float]) -> str:
    """What ``cluster="auto"`` keeps given the stability of the clusterings tried: spectral when
    it reaches :data:`STABLE_CLUSTERS` (or nothing else was tried), else the most stable."""
    if stability["spectral"] >= STABLE_CLUSTERS:
        return "spectral"
    return max(stability, key=stability.get)


def model_normalisation(extra: dict, particles: ParticleSet) -> Normalisation:
    """The training set's normalisation stored with the model, else this set's own."""
    stored = extra.get("normalisation")
    if stored:
        return Normalisation(float(stored[0]), float(stored[1]))
    return global_normalisation(particles)


def _align_members(model: nn.Module, particles: ParticleSet, members: np.ndarray,
                   reference: torch.Tensor, norm: Normalisation, batch_size: int,
                   device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Poses mapping each member onto ``reference`` (``rigid_transform(member, R, t) ≈ ref``).

    No tilt ranges are passed: the predicted pose does not depend on the imputation.
    """
    rots, shifts = [np.zeros((0, 3, 3))], [np.zeros((0, 3))]
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


def _sum_averager_across_ranks(acc: WedgeWeightedAverager) -> None:
    """Replace ``acc``'s Fourier sums and count by their sums over all ranks (in place)."""
    if rank_and_world()[1] == 1:
        return
    num = torch.view_as_real(acc.numerator).cpu().numpy()  # (..., 2) float64
    packed = np.concatenate([num.ravel(), acc.weight.cpu().numpy().ravel(), [acc.count]])
    packed = sum_across_ranks(packed)
    k = num.size
    acc.numerator = torch.view_as_complex(
        torch.from_numpy(packed[:k].reshape(num.shape).copy())).to(acc.device)
    acc.weight = torch.from_numpy(packed[k:-1].reshape(acc.weight.shape).copy()).to(acc.device)
    acc.count = round(float(packed[-1]))


def _average(particles: ParticleSet, members: np.ndarray, rots: np.ndarray, shifts: np.ndarray,
             tilts: np.ndarray, batch_size: int, symmetry: str = "C1") -> torch.Tensor:
    """Wedge-weighted average of ``members`` given their average → particle poses.

    Under a process group, ``members`` are this rank's and the average is over every rank's
    (a collective: all ranks must call it, even with no members).
    """
    acc = WedgeWeightedAverager(particles.box_size, symmetry=symmetry)
    for start in range(0, len(members), batch_size):
        sel = slice(start, start + batch_size)
        idx = members[sel]
        acc.add(particles.get_batch(idx.tolist()), torch.as_tensor(rots[sel]),
                torch.as_tensor(shifts[sel]), [tuple(t) for t in tilts[idx]])
    _sum_averager_across_ranks(acc)
    return acc.result()


def _half_sets(particles: ParticleSet, members: np.ndarray) -> np.ndarray:
    """Half-set id (1 or 2) of each member: ``rlnRandomSubset`` if present, else alternating."""
    if "rlnRandomSubset" in particles.table.columns:
        subset = particles.table["rlnRandomSubset"].to_numpy()[members]
        if set(np.unique(subset)) <= {1, 2} and len(np.unique(subset)) == 2:
            return subset.astype(int)
    return 1 + (np.arange(len(members)) % 2)


def _refine_members(particles: ParticleSet, members: np.ndarray, reference: torch.Tensor,
                    tilts: np.ndarray, method: str, params: AlignParams, batch_size: int,
                    device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Average → member poses by classical search of ``reference`` in every member."""
    res = align_to_reference(iterate_batches(particles, members, batch_size), reference,
                             [tuple(t) for t in tilts[members]], method=method, params=params,
                             device=device, batch_size=batch_size)
    return res.rotation.double().numpy(), res.shift.double().numpy()


def _network_corrections(model: nn.Module, particles: ParticleSet, members: np.ndarray,
                         reference: torch.Tensor, rotations: np.ndarray, shifts: np.ndarray,
                         tilts: np.ndarray, norm: Normalisation, batch_size: int,
                         device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Average → member poses after one correction by the network.

    Each member is compared with the reference posed by its current pose ``P`` and seen
    through the member's own missing wedge (what a noise-free copy of the member would look
    like); the network's pose ``Δ`` maps the member onto that, so the new pose is ``Δ⁻¹ ∘ P``.
    ``rotations``/``shifts`` are the members' poses, ``tilts`` every particle's tilt range.
    """
    ref = reference.to(device=device, dtype=torch.float32)
    box = tuple(ref.shape)
    new_r, new_t = [np.zeros((0, 3, 3))], [np.zeros((0, 3))]
    with torch.no_grad():
        for start in range(0, len(members), batch_size):
            sel = slice(start, start + batch_size)
            idx = members[sel]
            src = norm.apply(particles.get_batch(idx.tolist())).to(device)
            posed = warp(ref.expand(len(idx), *box),
                         torch.as_tensor(rotations[sel], dtype=torch.float32, device=device),
                         torch.as_tensor(shifts[sel], dtype=torch.float32, device=device))
            seen = wedge_mask(box, torch.as_tensor(tilts[idx, 0]), torch.as_tensor(tilts[idx, 1]),
                              layout="rfft", dtype=torch.float32, device=device)
            target = torch.fft.irfftn(torch.fft.rfftn(posed, dim=(-3, -2, -1)) * seen,
                                      s=box, dim=(-3, -2, -1))
            flat = target.flatten(1)
            target = ((flat - flat.mean(1, keepdim=True))
                      / flat.std(1, keepdim=True).clamp_min(1e-12)).view_as(target)
            d_r, d_t = model(src, target).pose_numpy()
            r, t = compose_poses(*invert_pose(d_r, d_t), rotations[sel], shifts[sel])
            new_r.append(r)
            new_t.append(t)
    return np.concatenate(new_r), np.concatenate(new_t)


def network_refinement(model: nn.Module, particles: ParticleSet, classes: list[ClassResult],
                       rotations: np.ndarray, shifts: np.ndarray, norm: Normalisation, *,
                       rounds: int = 1, symmetry: str = "C1", batch_size: int = 16,
                       device: torch.device | str = "cpu", progress: Progress | None = None
                       ) -> tuple[np.ndarray, np.ndarray, list[ClassResult]]:
    """Local refinement of given poses by the network, gold-standard halves kept apart.

    Every round, each member of each half set is corrected by the network against its own
    half's map (:func:`_network_corrections`); then the half maps and the class average are
    rebuilt from the new poses. Classes without two half maps are returned unchanged.

    Parameters
    ----------
    model : JimNet3D
        In eval mode.
    particles : ParticleSet
    classes : list of ClassResult
        With ``half_maps`` and (else alternating/``rlnRandomSubset``) ``halves``.
    rotations, shifts : arrays, shapes (n, 3, 3), (n, 3)
        Class average → particle poses (zyx, voxels) to refine.
    norm : Normalisation
        The model's input standardisation.
    rounds : int

    Returns
    -------
    rotations, shifts : arrays, shapes (n, 3, 3), (n, 3)
    classes : list of ClassResult
        New averages and half maps.

    Under a process group each rank corrects its shard of every half and the rows are
    gathered; every rank returns the same result.
    """
    dev = torch.device(device)
    rank, world = rank_and_world()
    rotations, shifts = rotations.copy(), shifts.copy()
    tilts = particles.tilt_ranges()
    total = rounds * sum(len(c.members) for c in classes if c.half_maps is not None)
    done = 0
    refined = []
    for cls in classes:
        if cls.half_maps is None:
            refined.append(cls)
            continue
        halves = cls.halves if cls.halves is not None else _half_sets(particles, cls.members)
        groups = [cls.members[halves == h] for h in (1, 2)]
        mine = [g[shard(len(g), rank, world)] for g in groups]
        maps = cls.half_maps
        for _ in range(rounds):
            for group, local, ref in zip(groups, mine, maps, strict=True):
                r, t = _network_corrections(model, particles, local, ref, rotations[local],
                                            shifts[local], tilts, norm, batch_size, dev)
                rotations[group] = gather_rows(r, len(group))
                shifts[group] = gather_rows(t, len(group))
                done += len(group)
                if progress:
                    progress("network refinement", done, total)
            maps = tuple(_average(particles, local, rotations[local], shifts[local], tilts,
                                  batch_size, symmetry) for local in mine)
        members = np.concatenate(mine)
        average = _average(particles, members, rotations[members], shifts[members], tilts,
                           batch_size, symmetry)
        refined.append(replace(cls, average=average, half_maps=maps))
    return rotations, shifts, refined


def cluster_particle_radii(particles: ParticleSet, labels: np.ndarray, *, batch_size: int = 16,
                           mask_width: float = AlignParams.mask_width,
                           n_clusters: int | None = None) -> tuple[float, ...]:
    """Particle radius (voxels) of each cluster, measured from its members' band-passed energy.

    Per cluster the members' energy profiles about their particle centres are summed
    (:func:`jimnet.align.centre.band_energy_profile`, centres located with a radius of a quarter
    of the box) and read off by :func:`~jimnet.align.centre.particle_radius_from_profile`. A
    fixed radius cuts off large particles (the 80S ribosome stand-in spans 25 voxels of a 32³
    box) and lets noise into the mask of small ones. Clipped to ``3 … N/2 − mask_width`` so the
    soft mask stays inside the box.

    Returns
    -------
    tuple of float
        Radius of clusters ``0 … K − 1`` (``K = n_clusters``, by default ``labels.max() + 1``;
        an empty cluster gets the upper bound).
    """
    n = particles.box_size
    upper = max(3.0, n / 2 - mask_width)
    radii = []
    for c in range(n_clusters or int(labels.max()) + 1):
        members = np.flatnonzero(labels == c)
        if members.size == 0:
            radii.append(upper)
            continue
        profile = sum(band_energy_profile(batch.float(), n / 4)
                      for batch in iterate_batches(particles, members, batch_size))
        radii.append(float(np.clip(particle_radius_from_profile(profile), 3.0, upper)))
    return tuple(radii)


def half_map_agreement(result: RefineResult) -> float:
    """Particle-weighted mean of the classes' half-map FSC-0.143 frequencies (1/Å).

    A class without two half maps counts as 0. Each half set is refined against its own
    references, so this gold-standard agreement is not inflated by noise fitted into them;
    purer classes in consistent frames give averages that agree to higher frequencies.
    """
    classes = result.state.classes
    total = sum(np.sum(classes == k) / result.resolutions[k]
                for k in np.unique(classes) if k in result.resolutions)
    return float(total / max(len(classes), 1))


def held_out_fit(particles: ParticleSet, result: RefineResult, particle_radius: float, *,
                 batch_size: int = 16) -> float:
    """Mean correlation of every particle with its class's **other** half map at its pose.

    Each particle is compared (:func:`jimnet.cluster.frame_correlations`: its observed region,
    low-passed, inside one sphere of ``particle_radius`` voxels) with the map its own half did
    not contribute to, so noise fitted into a map does not raise the score: a class that mixes
    structures, or one spread over two small classes, explains its particles less well.
    Particles of classes without two half maps count as 0.
    """
    state = result.state
    tilts = particles.tilt_ranges()
    total = 0.0
    for c, maps in result.half_maps.items():
        if maps[0] is None or maps[1] is None:
            continue
        for half, other in ((1, maps[1]), (2, maps[0])):
            members = np.flatnonzero((state.classes == c) & (state.halves == half))
            for start in range(0, len(members), batch_size):
                idx = members[start:start + batch_size]
                total += float(frame_correlations(
                    particles.get_batch(idx), state.rotations[idx], state.shifts[idx],
                    tilts[idx], other, particle_radius=particle_radius).sum())
    return total / max(len(state.classes), 1)


def classical_alignment(particles: ParticleSet, labels: np.ndarray, *, global_rounds: int = 4,
                        local_rounds: int = 1, reassign_rounds: int = 0,
                        score_rule: str = "centred", n_starts: int = 2,
                        top_fraction: float = 0.5, particle_radius: float | None = None,
                        symmetry: str = "C1", split_merge: bool = False,
                        guard: str = "held-out", seed: int = 0, batch_size: int = 8,
                        on_candidate: Callable[[str, RefineResult, float], None] | None = None,
                        device: torch.device | str = "cpu", progress: Progress | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[ClassResult]]:
    """Reference-free classical alignment of clusters (gold-standard halves), optionally
    followed by multi-reference reassignment.

    Three stages, each a :func:`jimnet.align.refine.refine` run continuing from the last:

    1. ``global_rounds - reassign_rounds`` global rounds with the clusters fixed, each cluster
       masked by its own particle radius (reference-free starts first);
    2. ``reassign_rounds`` global rounds in which every particle is aligned to every class
       average of its half set and moved to the class with the highest centred score (the
       score minus the class's mean score over the half set), all classes masked by one
       radius (the largest), so the scores are comparable. With ``split_merge`` these rounds
       are run a second time from stage 1's classes split and merged
       (:func:`jimnet.predict.split_merge.split_and_merge`). Of stage 1 and these candidates
       the one with the highest ``guard`` score is kept (ties to the later one): ``"held-out"``
       (:func:`held_out_fit`, every particle against its class's other half map) or
       ``"half-maps"`` (:func:`half_map_agreement`, gold-standard FSC);
    3. ``local_rounds`` local rounds with the (new) clusters fixed, radii measured again.

    Parameters
    ----------
    particles : ParticleSet
    labels : int array, shape (n,)
        0-based starting clusters (kept fixed unless ``reassign_rounds``).
    global_rounds, local_rounds : int
        Rounds with a global search (the first against one seeded member per half and class,
        the others against the half's class average) and with a local search after them.
    reassign_rounds : int
        How many of the global rounds (the last) move particles between clusters; fewer than
        ``global_rounds``.
    score_rule : {"centred", "raw"}
        What the reassignment compares (:class:`~jimnet.align.refine.RefineConfig`).
    n_starts, top_fraction : int, float
        Reference-free starts tried per half-class and the fraction of best-scoring members
        the global rounds' references average (:class:`~jimnet.align.refine.RefineConfig`).
    particle_radius : float, optional
        Voxels, for every class. By default each cluster's radius is measured from its members
        (:func:`cluster_particle_radii`).
    symmetry : str
        Point group of every class (:func:`classical_params`).
    split_merge : bool
        Also try split-and-merge before the reassignment rounds (needs ``reassign_rounds``).
    guard : {"held-out", "half-maps"}
        What decides which candidate classes are kept (see above).
    on_candidate : callable, optional
        ``on_candidate(name, result, score)`` for each candidate the guard compares
        (``"fixed"``, ``"reassign"``, ``"split-merge"``) with its ``guard`` score, for
        diagnostics.

    Returns
    -------
    labels : int array, shape (n,)
        0-based final clusters (the input's unless ``reassign_rounds``).
    rotations, shifts : arrays, shapes (n, 3, 3), (n, 3)
        Class average → particle poses, one frame per class.
    classes : list of ClassResult
    """
    if not 0 <= reassign_rounds < global_rounds:
        raise ValueError("reassign_rounds must be ≥ 0 and smaller than global_rounds")
    if guard not in ("held-out", "half-maps"):
        raise ValueError(f"guard must be 'held-out' or 'half-maps', got {guard!r}")
    k = int(labels.max()) + 1

    def radii_of(labels: np.ndarray) -> tuple[float, ...]:
        return (cluster_particle_radii(particles, labels, batch_size=batch_size, n_clusters=k)
                if particle_radius is None else (float(particle_radius),) * k)

    def config(rounds: int, global_: int, radii: tuple[float, ...], reassign: bool
               ) -> RefineConfig:
        coarse, fine = classical_params(particles.box_size, max(radii), symmetry)
        return RefineConfig(n_classes=k, n_iterations=rounds, global_rounds=global_,
                            params=coarse, local_params=fine, reassign=reassign,
                            score_rule=score_rule, seed=seed,
                            batch_size=batch_size, n_starts=n_starts,
                            start_rounds=max(1, min(2, global_)), top_fraction=top_fraction,
                            class_radii=None if reassign else radii)

    n = len(particles)
    halves = np.zeros(n, dtype=np.int64)
    for c in range(k):
        members = np.flatnonzero(labels == c)
        halves[members] = _half_sets(particles, members)
    state = state_from(labels + 1, halves=halves, seed=seed)
    fixed_rounds = global_rounds - reassign_rounds
    first_rounds = fixed_rounds + (0 if reassign_rounds else local_rounds)
    # particle alignments of all stages, for one progress bar
    total = n * (first_rounds + (n_starts - 1) * min(2, fixed_rounds)
                 + ((1 + split_merge) * reassign_rounds * k + local_rounds
                    if reassign_rounds else 0))
    done = 0

    def run(cfg: RefineConfig, work: str) -> RefineResult:
        nonlocal done, state
        offset = done

        def report(stage_done: int, stage_total: int) -> None:
            nonlocal done
            done = offset + stage_done
            if progress:
                progress("classical alignment", min(done, total), total)

        res = run_refinement(particles, cfg, work, device=device, progress=report,
                             initial=state, log_resolutions=False)
        state = replace(res.state, iteration=0)  # the next stage's rounds count from 0
        return res

    radii = radii_of(labels)
    with tempfile.TemporaryDirectory() as work:
        res = run(config(first_rounds, fixed_rounds, radii, False), os.path.join(work, "fixed"))
        if reassign_rounds:
            starts = [state]
            if split_merge:
                proposal = split_and_merge(particles, res, config(1, 1, radii, False), radii)
                if proposal is None:  # nothing split: no second reassignment to count
                    total -= n * reassign_rounds * k
                else:
                    starts.append(proposal)
            score = {"held-out": lambda r: held_out_fit(particles, r, max(radii),
                                                         batch_size=batch_size),
                     "half-maps": half_map_agreement}[guard]
            best, best_state, best_score = res, state, score(res)
            if on_candidate:
                on_candidate("fixed", res, best_score)
            for name, start in zip(("reassign", "split-merge"), starts, strict=False):
                state = start
                trial = run(config(reassign_rounds, reassign_rounds, radii, True),
                            os.path.join(work, name))
                trial_score = score(trial)
                if on_candidate:
                    on_candidate(name, trial, trial_score)
                if trial_score >= best_score:  # kept only if it measures at least as well
                    best, best_state, best_score = trial, state, trial_score
            res, state = best, best_state
            radii = radii_of(state.classes - 1)
            if local_rounds:
                res = run(config(local_rounds, 0, radii, False), os.path.join(work, "local"))
    classes = []
    for c, avg in res.averages.items():
        members = np.flatnonzero(res.state.classes == c)
        classes.append(ClassResult(c, members, avg,
                                   None if any(h is None for h in res.half_maps[c])
                                   else res.half_maps[c], radii[c - 1],
                                   res.state.halves[members]))
    return res.state.classes - 1, res.state.rotations, res.state.shifts, classes


def predict(model: nn.Module | None, particles: ParticleSet, *, n_clusters: int | str | None = None,
            cluster: str = "auto", align: str = "classical",
            normalisation: Normalisation | None = None, iterations: int = 4,
            local_rounds: int = 1, reassign_rounds: int | None = None, n_starts: int = 2,
            top_fraction: float = 0.5, particle_radius: float | None = None,
            symmetry: str = "C1", split_merge: bool = SPLIT_MERGE,
            refine: str = "none", refine_params: AlignParams | None = None,
            batch_size: int = 16, seed: int = 0, use_tsne: bool = True,
            device: str | torch.device = "cpu", progress: Progress | None = None) -> Prediction:
    """Cluster, align and average ``particles`` with a trained :class:`~jimnet.models.JimNet3D`.

    Parameters
    ----------
    model : JimNet3D or None
        Trained model (its ``config.n_clusters`` is the default K). ``None`` runs the paths
        that need no network (``cluster`` other than "network", ``align="classical"``, an
        explicit ``n_clusters``): ``features`` then has no columns and ``mcp_labels`` are −1.
    particles : ParticleSet
    n_clusters : int or "auto", optional
        Number of GMM clusters (default: the model's K); ``"auto"`` picks K by BIC
        (:func:`assign_clusters`).
    cluster : {"auto", "spectral", "frame", "network"}
        What the clusters are computed from (:func:`assign_clusters`; ``"auto"``: see the
        module doc).
    align : {"classical", "hybrid", "network"}
        What aligns each cluster's members (see the module doc).
    normalisation : Normalisation, optional
        Standardisation of the inputs (default: this set's global mean/std).
    iterations : int
        Reference-free alignment/averaging rounds per cluster (classical: the global rounds).
    local_rounds : int
        Classical: local rounds after the global ones; hybrid: the same rounds done by the
        network (:func:`network_refinement`) instead of the classical local search.
    reassign_rounds : int, optional
        Classical and hybrid: how many of the global rounds (the last) move particles between
        clusters by their centred scores (minus each class's mean score) against every class average
        (:func:`classical_alignment`); 0 keeps the clusters as clustered. Default: 1, or 0
        with a single global round.
    n_starts, top_fraction : int, float
        Classical and hybrid: reference-free starts tried and the fraction of best-scoring members
        averaged into the global rounds' references (:func:`classical_alignment`).
    particle_radius : float, optional
        Classical and hybrid: particle radius in voxels (:func:`classical_params`).
    symmetry : str
        Point group of every class: symmetrised averages (both paths) and, classical, searches
        over one asymmetric unit.
    split_merge : bool
        Classical and hybrid, with reassignment: also try split-and-merge before the
        reassignment round (:mod:`jimnet.predict.split_merge`), kept only if it measures better
        (:func:`classical_alignment`).
    refine : {"none", "ht", "fa"}
        Network only: optional classical refinement pass after the network's rounds.
    refine_params : AlignParams, optional
        Search settings of that pass (default ``AlignParams()``).
    batch_size, seed, use_tsne, device, progress
        As in training.

    Under an initialised process group every rank must call this with the same arguments; the
    work is sharded (see the module doc) and every rank returns the same result.
    """
    if refine not in ("none", "ht", "fa"):
        raise ValueError(f"refine must be 'none', 'ht' or 'fa', got {refine!r}")
    if cluster not in CLUSTER_METHODS:
        raise ValueError(f"cluster must be one of {CLUSTER_METHODS}, got {cluster!r}")
    if align not in ALIGN_METHODS:
        raise ValueError(f"align must be one of {ALIGN_METHODS}, got {align!r}")
    report = progress or (lambda stage, done, total: None)
    rank, world = rank_and_world()
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None and world > 1:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    if model is None:
        if cluster == "network" or align != "classical" or n_clusters is None:
            raise ValueError("without a model, predict needs cluster other than 'network', "
                             "align='classical' and n_clusters")
        features, mcp = np.zeros((len(particles), 0)), np.full(len(particles), -1)
    else:
        model = model.to(dev).eval()
        norm = normalisation or global_normalisation(particles, batch_size)
        features, logits = classify_particles(model, particles, norm, batch_size, dev, report)
        mcp = logits.argmax(1)
    labels, embedding, bic, cluster, stability = choose_clusters(
        particles, features, n_clusters or model.config.n_clusters, cluster, seed=seed,
        use_tsne=use_tsne, batch_size=batch_size, n_starts=n_starts, symmetry=symmetry,
        device=dev, progress=progress)
    # Every rank clusters the same gathered features with the same seed (so no rank waits on
    # rank 0's t-SNE past a collective timeout), then takes rank 0's result: t-SNE/GMM need not
    # be bit-reproducible across processes (threaded BLAS/OpenMP), and ranks that disagreed on
    # the labels would shard different member lists and could deadlock on the per-cluster
    # collectives. The broadcast is O(n) numbers.
    labels = broadcast_array(labels)
    embedding = broadcast_array(embedding)
    if align in ("classical", "hybrid"):
        clustered = labels
        if reassign_rounds is None:
            reassign_rounds = 1 if iterations > 1 else 0
        labels, rotations, shifts, classes = classical_alignment(
            particles, labels, global_rounds=iterations,
            local_rounds=local_rounds if align == "classical" else 0,
            reassign_rounds=reassign_rounds, n_starts=n_starts, top_fraction=top_fraction,
            particle_radius=particle_radius, symmetry=symmetry, split_merge=split_merge,
            seed=seed, device=dev, progress=progress)
        if align == "hybrid" and local_rounds:
            rotations, shifts, classes = network_refinement(
                model, particles, classes, rotations, shifts, norm, rounds=local_rounds,
                symmetry=symmetry, batch_size=batch_size, device=dev, progress=progress)
        return Prediction(labels, mcp, features, embedding, rotations, shifts, classes, bic,
                          cluster, align, clustered if reassign_rounds else None, stability)
    k = int(labels.max()) + 1  # K may have been chosen here (n_clusters="auto")
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
        reference = particles[int(rng.choice(members))]  # same labels and seed on every rank
        mine = shard(len(members), rank, world)  # positions in ``members`` this rank aligns
        local = members[mine]
        for it in range(iterations):
            # The network gives member → average; keep average → member (what a STAR stores).
            rots, sh = invert_pose(*_align_members(model, particles, local, reference, norm,
                                                   batch_size, dev))
            reference = _average(particles, local, rots, sh, tilts, batch_size, symmetry)
            report(f"class {c + 1}", it + 1, iterations)
        if refine != "none":
            rots, sh = _refine_members(particles, local, reference, tilts, refine,
                                       refine_params or AlignParams(), batch_size, dev)
            reference = _average(particles, local, rots, sh, tilts, batch_size, symmetry)
            report(f"class {c + 1} {refine} refinement", 1, 1)
        half_maps = None
        if len(members) >= 2:
            halves = _half_sets(particles, members)[mine]
            half_maps = tuple(
                _average(particles, local[halves == h], rots[halves == h], sh[halves == h],
                         tilts, batch_size, symmetry) for h in (1, 2))
        rotations[members] = gather_rows(rots, len(members))
        shifts[members] = gather_rows(sh, len(members))
        classes.append(ClassResult(c + 1, members, reference, half_maps))
    return Prediction(labels, mcp, features, embedding, rotations, shifts, classes, bic, cluster,
                      align, cluster_stability=stability)
