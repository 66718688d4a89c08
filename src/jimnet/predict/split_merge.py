"""Split-and-merge of reference-free classes.

Multi-reference reassignment moves particles between neighbouring classes, but it cannot repair
the typical mistake of a shape-blind start (the spectral clustering of similar-size structures):
one structure spread over two clusters while two others share one. Their averages then look
the same (the spread pair) and blurred (the shared cluster), and every particle scores best
where it already is. :func:`split_and_merge` makes the change that can repair that:

1. **split** every class whose aligned members fall clearly into two groups: the members'
   differences from the class average (:func:`jimnet.cluster.frame_features`, first
   principal components) fitted by a two-component GMM, kept if its BIC beats one Gaussian's
   and the smaller group holds at least ``min_fraction`` of the class;
2. **merge** the resulting classes back to K by average-linkage clustering of how alike their
   averages are relative to their own half maps' agreement (:func:`class_similarity`); each
   merged group is moved into the frame of its largest class.

Two halves of one structure are as alike as a class's own halves (similarity ≈ 1), so a split
that was not needed is undone by the merge. The caller keeps the result only if it measures
better (gold-standard half maps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from jimnet.align import AlignParams, align
from jimnet.align.refine import (
    RefineConfig,
    RefineResult,
    RefineState,
    class_maps,
    members_average,
)
from jimnet.cluster import frame_correlations, frame_features
from jimnet.cluster.gmm import _fitted_gmm, standardise_columns
from jimnet.geometry import compose_poses, invert_pose
from jimnet.io import ParticleSet
from jimnet.transform import rigid_transform


def class_similarity(averages: dict[int, torch.Tensor],
                     half_maps: dict[int, tuple[torch.Tensor, torch.Tensor]],
                     params: AlignParams, particle_radius: float
                     ) -> tuple[np.ndarray, dict]:
    """How alike the classes' averages are, relative to each class's half-map agreement.

    Each pair's full averages are superposed (:func:`jimnet.align.align`, one global search),
    then ``similarity[a, b] = mean(ρ(b₁, a₁), ρ(b₂, a₂)) / √(ρ(a₁, a₂) ρ(b₁, b₂))`` with ``ρ``
    the correlation in a sphere of ``particle_radius`` voxels (low-passed, as
    :func:`jimnet.cluster.frame_correlations`) after that superposition and ``a₁, a₂`` class
    ``a``'s half maps: about 1 for two classes of one structure (their half maps agree as well
    as a class's own halves do), lower for different structures. Half maps are compared with
    half maps so that noise lowers both terms alike.

    Parameters
    ----------
    averages : dict
        Class → full map (N, N, N).
    half_maps : dict
        Class → (half-1 map, half-2 map), both in the frame of the class's full map.
    params : AlignParams
        Search settings of the superpositions.
    particle_radius : float
        Voxels.

    Returns
    -------
    similarity : numpy.ndarray, shape (K, K)
        Rows/columns in ``sorted(half_maps)`` order; the diagonal is 1.
    poses : dict
        ``(a, b)`` → ``(R, t)`` with ``rigid_transform(b, R, t) ≈ a`` (class ``b``'s frame onto
        class ``a``'s), for every ordered pair ``a ≠ b``.
    """
    labels = sorted(half_maps)
    complete = [(-90.0, 90.0)]
    identity = np.eye(3)[None], np.zeros((1, 3))

    def rho(x: torch.Tensor, y: torch.Tensor) -> float:
        return float(frame_correlations(x[None], *identity, complete, y,
                                        particle_radius=particle_radius)[0])

    own = {c: max(rho(half_maps[c][1], half_maps[c][0]), 1e-6) for c in labels}
    sim = np.eye(len(labels))
    poses = {}
    for i, a in enumerate(labels):
        for j in range(i + 1, len(labels)):
            b = labels[j]
            pose = align(averages[b], averages[a], params=params)
            rot, shift = pose.rotation.float()[None], pose.shift.float()[None]
            cross = np.mean([rho(rigid_transform(half_maps[b][h][None], rot, shift)[0],
                                 half_maps[a][h]) for h in (0, 1)])
            sim[i, j] = sim[j, i] = cross / np.sqrt(own[a] * own[b])
            poses[(a, b)] = (pose.rotation.numpy(), pose.shift.numpy())
            poses[(b, a)] = invert_pose(*poses[(a, b)])
    return sim, poses


def two_groups(features: np.ndarray, *, min_fraction: float, seed: int) -> np.ndarray | None:
    """Labels 0/1 of a two-component diagonal GMM on ``features`` (n, d), or None when one
    Gaussian has the lower BIC or the smaller group holds less than ``min_fraction``."""
    z = standardise_columns(np.asarray(features, dtype=np.float64))
    one = _fitted_gmm(z, 1, seed, "diag", 1)
    two = _fitted_gmm(z, 2, seed, "diag", 10)
    labels = two.predict(z).astype(np.int64)
    if two.bic(z) >= one.bic(z) or min(np.bincount(labels, minlength=2)) < min_fraction * len(z):
        return None
    return labels


def split_and_merge(particles: ParticleSet, result: RefineResult, config: RefineConfig,
                    particle_radii: Sequence[float], *, n_components: int = 3,
                    min_fraction: float = 0.15, min_members: int = 8,
                    max_factor: int = 2) -> RefineState | None:
    """Split two-fold classes (recursively), then merge back to the same number of classes.

    Parameters
    ----------
    particles : ParticleSet
    result : RefineResult
        A reference-free refinement (poses in one frame per class, half sets).
    config : RefineConfig
        Its settings: averaging, and the search (``config.params``) that superposes the
        classes' half maps.
    particle_radii : sequence of float
        Voxels, class ``c`` at ``c − 1``: the sphere the splits of that class look at.
    n_components : int
        Principal components of the members' differences the split sees.
    min_fraction, min_members : float, int
        A split must leave at least ``min_fraction`` of a class in its smaller group; classes
        with fewer than ``min_members`` members are neither split nor merged by similarity
        (their half maps are too noisy to compare): they join the group of the class their
        average is most like.
    max_factor : int
        At most ``max_factor × K`` classes before the merge.

    Returns
    -------
    RefineState or None
        Classes ``1 … K`` and poses (each class in one frame) to continue from, or None when no
        class splits.
    """
    state = result.state
    k = config.n_classes
    classes = state.classes.copy()
    radius = {c: float(particle_radii[c - 1]) for c in range(1, k + 1)}
    queue = sorted(result.averages)
    n_classes = k
    while queue and n_classes < max_factor * k:
        c = queue.pop(0)
        members = np.flatnonzero(classes == c)
        if members.size < min_members:
            continue
        average = (result.averages[c] if np.array_equal(members, np.flatnonzero(
            state.classes == c)) else members_average(particles, members, state, config))
        feats = frame_features(particles, state.rotations, state.shifts, average,
                               particle_radius=radius[c], n_components=n_components,
                               batch_size=config.batch_size, indices=members)
        groups = two_groups(feats, min_fraction=min_fraction, seed=config.seed)
        if groups is None:
            continue
        n_classes += 1
        classes[members[groups == 1]] = n_classes
        radius[n_classes] = radius[c]
        queue += [c, n_classes]
    if n_classes == k:
        return None
    split = replace(state, classes=classes)
    split, averages, half_maps, _ = class_maps(
        particles, split, replace(config, n_classes=n_classes, class_radii=None))
    usable = {c: h for c, h in half_maps.items() if h[0] is not None and h[1] is not None}
    sim, poses = class_similarity(averages, usable, config.params, max(radius.values()))
    labels = sorted(usable)
    sizes = np.array([np.sum(split.classes == c) for c in labels])
    big = np.flatnonzero(sizes >= min_members)
    if big.size < k:  # too few comparable classes: rank by size instead
        big = np.argsort(-sizes)[:k]
    groups = np.full(len(labels), -1)
    groups[big] = _average_linkage(1.0 - sim[np.ix_(big, big)], k)
    for i in np.flatnonzero(groups < 0):
        groups[i] = groups[big[int(np.argmax(sim[i, big]))]]
    new_classes = split.classes.copy()
    rot, shift = split.rotations.copy(), split.shifts.copy()
    for g in range(int(groups.max()) + 1):
        group = [labels[i] for i in np.flatnonzero(groups == g)]
        root = max(group, key=lambda c: int(np.sum(split.classes == c)))
        for c in group:
            members = split.classes == c
            if c != root:  # into the root's frame: P ∘ T⁻¹, T = c's frame → root's
                inv_r, inv_t = invert_pose(*poses[(root, c)])
                rot[members], shift[members] = compose_poses(rot[members], shift[members],
                                                             inv_r, inv_t)
            new_classes[members] = g + 1
    # a class without two half maps joins the largest group
    for c in set(np.unique(split.classes).tolist()) - set(labels):
        new_classes[split.classes == c] = 1 + int(np.argmax(np.bincount(groups)))
    return replace(split, iteration=0, classes=new_classes, rotations=rot, shifts=shift)


def _average_linkage(distance: np.ndarray, n_groups: int) -> np.ndarray:
    """Group labels (0-based) of average-linkage clustering of a precomputed distance matrix."""
    from sklearn.cluster import AgglomerativeClustering

    if n_groups >= len(distance):
        return np.arange(len(distance))
    model = AgglomerativeClustering(n_clusters=n_groups, metric="precomputed", linkage="average")
    return model.fit_predict(np.clip(distance, 0.0, None)).astype(np.int64)
