"""The paper's evaluation protocols on simulated data with known truth (METHOD.md §6.1, §8).

Alignment (tables S1–S5): disjoint same-class pairs ``(s, t)`` of simulated subtomograms with
known reference → particle poses ``T_s, T_t``; the truth of a pair is ``T_t ∘ T_s⁻¹`` (the pose
mapping ``s`` onto ``t``, :func:`jimnet.evaluate.poses.relative_pose`). A method predicts that
pose; the errors are ``‖R_true − R_pred‖_F`` (dimensionless, 0 … 2√2) and
``‖round(t_true) − round(t_pred)‖₂`` (voxels) (:mod:`jimnet.geometry.metrics`). Predictors:

* H-T align / F&A align: :func:`jimnet.align.align_pairs` on each pair (both wedges known);
* Gum-Net / Jim-Net: one forward pass of the trained network on each pair;
* oracle: each particle aligned to its *true* noise-free template by exhaustive search, the pair
  pose composed from the two template → particle poses (the best any method can do with that
  noise).

Clustering (tables S6–S10): Hungarian matching of clusters to classes over the whole set; the
per-structure number is the fraction of that structure's particles in the cluster matched to it
(:func:`jimnet.evaluate.clustering_accuracy`).
"""

from __future__ import annotations

import multiprocessing as mp
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from jimnet.align import AlignParams, AlignResult, WedgeLike, align_pairs
from jimnet.errors import JimnetInputError
from jimnet.evaluate import clustering_accuracy
from jimnet.evaluate.poses import pair_pose_errors, relative_pose
from jimnet.features import Normalisation
from jimnet.io import ParticleSet, read_volume

__all__ = [
    "ClusterScores",
    "PairErrors",
    "align_pairs_parallel",
    "classical_pair_poses",
    "load_templates",
    "mean_std",
    "network_pair_poses",
    "oracle_pair_poses",
    "pair_errors",
    "same_class_pairs",
    "structure_accuracy",
]

Progress = Callable[[int], None]


def same_class_pairs(classes: NDArray, pairs_per_class: int) -> NDArray[np.int64]:
    """Disjoint same-class pairs: the ``2i``-th and ``(2i+1)``-th particle of each class.

    Parameters
    ----------
    classes : int array, shape (n,)
        Class of every particle (any labels).
    pairs_per_class : int
        Pairs per class (fewer when a class has fewer than ``2·pairs_per_class`` particles).

    Returns
    -------
    numpy.ndarray of int64, shape (p, 2)
        Particle indices ``(source, target)``, classes in ascending order.
    """
    pairs: list[tuple[int, int]] = []
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        pairs += [(int(idx[2 * i]), int(idx[2 * i + 1]))
                  for i in range(min(pairs_per_class, len(idx) // 2))]
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def mean_std(x: NDArray) -> tuple[float, float]:
    """Mean and population std (``ddof=0``) of ``x``; ``(nan, nan)`` when empty."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return float("nan"), float("nan")
    return float(x.mean()), float(x.std())


@dataclass(frozen=True)
class PairErrors:
    """Per-pair errors of one method on one dataset.

    Attributes
    ----------
    classes : numpy.ndarray of int, shape (p,)
        1-based class of each pair.
    rotation : numpy.ndarray, shape (p,)
        ``‖R_true − R_pred‖_F`` (dimensionless, 0 … 2√2).
    translation : numpy.ndarray, shape (p,)
        ``‖round(t_true) − round(t_pred)‖₂`` in voxels.
    """

    classes: NDArray[np.int64]
    rotation: NDArray[np.float64]
    translation: NDArray[np.float64]

    def select(self, class_number: int) -> PairErrors:
        """The pairs of one class."""
        m = self.classes == class_number
        return PairErrors(self.classes[m], self.rotation[m], self.translation[m])

    def stats(self) -> tuple[float, float, float, float, int]:
        """``(rot mean, rot std, trans mean, trans std, n pairs)``."""
        return (*mean_std(self.rotation), *mean_std(self.translation), int(self.classes.size))


def pair_errors(pred_rot: NDArray, pred_shift: NDArray, true_rot: NDArray, true_shift: NDArray,
                pairs: NDArray, classes: NDArray,
                symmetries: Mapping[int, str] | None = None) -> PairErrors:
    """Paper metrics of predicted pair poses.

    Parameters
    ----------
    pred_rot, pred_shift : shapes (p, 3, 3), (p, 3)
        Predicted poses mapping ``pairs[:, 0]`` onto ``pairs[:, 1]`` (zyx, voxels).
    true_rot, true_shift : shapes (n, 3, 3), (n, 3)
        True reference → particle poses of all particles.
    pairs : int array, shape (p, 2)
    classes : int array, shape (n,)
        1-based true class of every particle.
    symmetries : mapping, optional
        Point group of each class's structure (class number → ``C1``, ``Cn``, ``Dn``, ``T``,
        ``O``, ``I``; missing classes ``C1``): its pairs are scored against the nearest
        symmetry mate of the true relative pose.
    """
    pair_class = np.asarray(classes)[pairs[:, 0]].astype(np.int64)
    r_err = np.empty(len(pairs))
    t_err = np.empty(len(pairs))
    for k in np.unique(pair_class):
        m = pair_class == k
        r_err[m], t_err[m] = pair_pose_errors(
            np.asarray(pred_rot)[m], np.asarray(pred_shift)[m], true_rot, true_shift, pairs[m],
            (symmetries or {}).get(int(k)))
    return PairErrors(pair_class, r_err, t_err)


# ------------------------------------------------------------------------ classical alignment


def _align_job(args: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chunk of pairs in a worker process (one torch thread)."""
    src, tgt, ws, wt, method, params, device = args
    torch.set_num_threads(1)
    res = align_pairs(src, tgt, ws, wt, method=method, params=params, device=device)
    return res.rotation.numpy(), res.shift.numpy(), res.score.numpy()


def align_pairs_parallel(
    sources: torch.Tensor,
    targets: torch.Tensor,
    wedges_s: Sequence[WedgeLike],
    wedges_t: Sequence[WedgeLike],
    *,
    method: str,
    params: AlignParams,
    workers: int = 1,
    chunk: int = 5,
    device: str | torch.device | None = None,
    progress: Progress | None = None,
) -> AlignResult:
    """:func:`jimnet.align.align_pairs` over chunks of pairs, optionally in worker processes.

    Parameters
    ----------
    sources, targets : torch.Tensor, shape (P, N, N, N)
    wedges_s, wedges_t : sequence of WedgeLike, length P
    method : {"ht", "fa", "exhaustive"}
    params : AlignParams
    workers : int
        ``1``: in this process (use this on a GPU); ``> 1``: a pool of spawned processes with one
        torch thread each (the efficient use of several CPU cores).
    chunk : int
        Pairs per job (and per batch of the search).
    device : str or torch.device, optional
    progress : callable, optional
        Called with the number of pairs finished after each chunk.

    Returns
    -------
    AlignResult
        Poses mapping each source onto its target: (P, 3, 3), (P, 3) voxels, (P,).
    """
    p = int(sources.shape[0])
    dev = None if device is None else str(device)
    jobs = [(sources[i:i + chunk].clone(), targets[i:i + chunk].clone(),
             list(wedges_s[i:i + chunk]), list(wedges_t[i:i + chunk]), method, params, dev)
            for i in range(0, p, chunk)]
    results = []
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            src, tgt, ws, wt = job[:4]
            res = align_pairs(src, tgt, ws, wt, method=method, params=params, device=dev,
                              batch_size=len(src))
            results.append((res.rotation.numpy(), res.shift.numpy(), res.score.numpy()))
            if progress is not None:
                progress(len(src))
    else:
        with mp.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
            for job, res in zip(jobs, pool.imap(_align_job, jobs, chunksize=1), strict=True):
                results.append(res)
                if progress is not None:
                    progress(len(job[0]))
    if not results:
        empty = torch.empty(0)
        return AlignResult(empty.reshape(0, 3, 3), empty.reshape(0, 3), empty)
    return AlignResult(*(torch.from_numpy(np.concatenate([r[k] for r in results]))
                         for k in range(3)))


def _wedges(particles: ParticleSet, indices: NDArray) -> list[tuple[float, float]]:
    tilts = particles.tilt_ranges()
    return [(float(tilts[i, 0]), float(tilts[i, 1])) for i in indices]


def classical_pair_poses(particles: ParticleSet, pairs: NDArray, method: str,
                         params: AlignParams, **kwargs) -> tuple[NDArray, NDArray]:
    """H-T align (``method="ht"``) or F&A align (``"fa"``) of every pair, wedge-aware.

    Parameters
    ----------
    particles : ParticleSet
        Tilt ranges from ``jimnetTiltMin/Max`` (default ±60°).
    pairs : int array, shape (p, 2)
    method : {"ht", "fa", "exhaustive"}
    params : AlignParams
    **kwargs
        ``workers``, ``chunk``, ``device``, ``progress`` of :func:`align_pairs_parallel`.

    Returns
    -------
    rotation, shift : numpy.ndarray, shapes (p, 3, 3), (p, 3)
        Poses mapping ``pairs[:, 0]`` onto ``pairs[:, 1]`` (zyx, voxels).
    """
    res = align_pairs_parallel(particles.get_batch(pairs[:, 0]), particles.get_batch(pairs[:, 1]),
                               _wedges(particles, pairs[:, 0]), _wedges(particles, pairs[:, 1]),
                               method=method, params=params, **kwargs)
    return res.rotation.numpy(), res.shift.numpy()


_TEMPLATE = re.compile(r"class(\d+)_.*\.mrc$")


def load_templates(dataset_dir: str | Path) -> dict[int, torch.Tensor]:
    """Noise-free templates ``references/classKK_<name>.mrc`` of a simulated dataset.

    Returns
    -------
    dict
        1-based class number → float32 tensor (N, N, N), zyx.

    Raises
    ------
    JimnetInputError
        When the dataset has no templates.
    """
    ref_dir = Path(dataset_dir) / "references"
    out: dict[int, torch.Tensor] = {}
    for path in sorted(ref_dir.glob("class*.mrc")):
        match = _TEMPLATE.match(path.name)
        if match:
            out[int(match.group(1))] = torch.from_numpy(read_volume(path)[0])
    if not out:
        raise JimnetInputError(f"no noise-free templates (references/classKK_*.mrc) in "
                               f"{Path(dataset_dir)}")
    return out


def oracle_pair_poses(particles: ParticleSet, templates: dict[int, torch.Tensor],
                      pairs: NDArray, params: AlignParams, **kwargs) -> tuple[NDArray, NDArray]:
    """Pair poses from aligning each particle to its *true* template by exhaustive search.

    Every particle of ``pairs`` gets ``T̂_i`` (template → particle, the template unwedged, the
    particle with its own wedge); the pair pose is ``T̂_t ∘ T̂_s⁻¹``. Any fixed offset between the
    template's frame and the truth's cancels in the composition.

    Parameters
    ----------
    particles : ParticleSet
        Must carry the true classes (``rlnClassNumber``).
    templates : dict
        1-based class → template (N, N, N) (:func:`load_templates`).
    pairs : int array, shape (p, 2)
    params : AlignParams
        Settings of the exhaustive search.
    **kwargs
        ``workers``, ``chunk``, ``device``, ``progress`` of :func:`align_pairs_parallel`.

    Returns
    -------
    rotation, shift : numpy.ndarray, shapes (p, 3, 3), (p, 3)
    """
    classes = particles.class_numbers()
    if classes is None:
        raise JimnetInputError("the oracle needs the true classes (rlnClassNumber)")
    missing = sorted(set(classes[pairs.ravel()].tolist()) - set(templates))
    if missing:
        raise JimnetInputError(f"no template for class(es) {missing}")
    used = np.unique(pairs.ravel())
    refs = torch.stack([templates[int(classes[i])] for i in used])
    res = align_pairs_parallel(refs, particles.get_batch(used), [None] * len(used),
                               _wedges(particles, used), method="exhaustive", params=params,
                               **kwargs)
    n = len(particles)
    rot = np.tile(np.eye(3), (n, 1, 1))
    shift = np.zeros((n, 3))
    rot[used], shift[used] = res.rotation.numpy(), res.shift.numpy()
    return relative_pose(rot, shift, pairs)


# ------------------------------------------------------------------------ networks


def network_pair_poses(model: nn.Module, particles: ParticleSet, pairs: NDArray,
                       norm: Normalisation, *, batch_size: int = 16,
                       device: str | torch.device = "cpu") -> tuple[NDArray, NDArray]:
    """Gum-Net / Jim-Net pair poses: one forward pass per pair (eval mode, no gradient).

    Parameters
    ----------
    model : GumNet or JimNet3D
        Trained network; its output pose maps the source onto the target.
    particles : ParticleSet
    pairs : int array, shape (p, 2)
    norm : Normalisation
        The standardisation the network was trained with.
    batch_size : int
    device : str or torch.device

    Returns
    -------
    rotation, shift : numpy.ndarray, shapes (p, 3, 3), (p, 3)
        zyx, voxels.
    """
    dev = torch.device(device)
    model = model.to(dev).eval()
    rots, shifts = [np.empty((0, 3, 3))], [np.empty((0, 3))]
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            src = norm.apply(particles.get_batch(chunk[:, 0])).to(dev)
            tgt = norm.apply(particles.get_batch(chunk[:, 1])).to(dev)
            r, t = model(src, tgt).pose_numpy()
            rots.append(r)
            shifts.append(t)
    return np.concatenate(rots), np.concatenate(shifts)


# ------------------------------------------------------------------------ clustering


@dataclass(frozen=True)
class ClusterScores:
    """Clustering accuracy in % (tables S6–S10).

    Attributes
    ----------
    overall : float
        Fraction of all particles in the cluster matched to their class, %.
    per_class : numpy.ndarray, shape (K,)
        Entry ``k`` (class ``k + 1``): fraction of that class's particles in the cluster matched
        to it, %.
    """

    overall: float
    per_class: NDArray[np.float64]


def structure_accuracy(true_classes: NDArray, labels: NDArray, n_classes: int) -> ClusterScores:
    """Per-structure clustering accuracy under the global Hungarian matching.

    Parameters
    ----------
    true_classes : int array, shape (n,)
        1-based true classes.
    labels : int array, shape (n,)
        0-based predicted clusters.
    n_classes : int
        Number of true classes K.
    """
    score = clustering_accuracy(np.asarray(true_classes) - 1, np.asarray(labels), n_classes)
    return ClusterScores(100.0 * score.accuracy, 100.0 * score.per_class_recall)
