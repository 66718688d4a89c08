"""DeepCluster-3D (Caron et al., ECCV 2018), the 3D clustering baseline of SIMULATION_AND_BASELINES
§2.5.

One epoch:

1. features ``z = encoder(x)`` of every particle (eval mode, no augmentation);
2. PCA-whitening to ``d = min(pca_dim, n − 1, rank)`` dimensions, row L2-normalisation, k-means
   (``k = n_clusters``, seeded), empty clusters filled by splitting a random non-empty one
   (:func:`fill_empty_clusters`) → pseudo-labels (Hungarian re-indexed against the previous
   epoch for reporting only);
3. the linear head is re-initialised (seeded) and its optimiser state dropped;
4. encoder + head are trained one epoch with cross-entropy on ``n`` samples drawn uniformly over
   pseudo-classes (probability ∝ 1 / cluster size), with wedge-preserving augmentations.

The NMI between consecutive assignments is logged as ``losses["nmi_previous"]``. The final labels
(:meth:`DeepClusterTrainer.predict_labels`) are k-means on the final features.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import normalized_mutual_info_score
from torch import nn

from jimnet.cluster import reindex_labels
from jimnet.train.baseline import BaselineTrainer, batches_of
from jimnet.train.jimnet_epoch import epoch_rng
from jimnet.train.trainer import EpochResult

#: Maximum PCA dimension (Caron et al. use 256 on 2D features; 32–128 is plenty here).
PCA_DIM = 64
#: Relative size of the centroid perturbation used to split a cluster.
SPLIT_PERTURBATION = 1e-4
#: k-means restarts.
KMEANS_N_INIT = 3

__all__ = [
    "DeepClusterTrainer",
    "fill_empty_clusters",
    "kmeans_pseudo_labels",
    "l2_normalise_rows",
    "pca_whiten",
    "sample_uniform_over_classes",
    "uniform_class_weights",
]


def pca_whiten(features: ArrayLike, dim: int = PCA_DIM, rel_tol: float = 1e-10
               ) -> NDArray[np.float64]:
    """Project centred features on their leading principal axes, each scaled to unit variance.

    Parameters
    ----------
    features : array_like, shape (n, f)
    dim : int
        Maximum output dimension; the result has ``d = min(dim, n − 1, f, rank)`` columns, where
        ``rank`` counts the components whose variance exceeds ``rel_tol`` × the largest (at
        least one column).

    Returns
    -------
    numpy.ndarray, shape (n, d)
        Whitened coordinates (each column has mean 0 and variance 1 when its variance > 0).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 1:
        raise ValueError(f"features must be (n, f) with n ≥ 1, got {x.shape}")
    xc = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    var = s**2 / max(len(x) - 1, 1)
    rank = int(np.sum(var > rel_tol * var.max())) if var.size and var.max() > 0 else 0
    d = max(1, min(dim, len(x) - 1, x.shape[1], rank))
    scale = np.sqrt(np.where(var[:d] > 0, var[:d], 1.0))
    return (xc @ vt[:d].T) / scale


def l2_normalise_rows(x: ArrayLike, eps: float = 1e-12) -> NDArray[np.float64]:
    """Rows of ``x`` (n, d) divided by their Euclidean norm (zero rows stay zero)."""
    a = np.asarray(x, dtype=np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), eps)


def fill_empty_clusters(x: ArrayLike, labels: ArrayLike, n_clusters: int,
                        rng: np.random.Generator, *,
                        perturbation: float = SPLIT_PERTURBATION
                        ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Give every empty cluster points by splitting a random non-empty cluster (DeepCluster).

    For each empty cluster ``e`` (in increasing order): draw a cluster ``j`` uniformly among
    those with ≥ 2 points, set ``c_e = c_j + δ`` and ``c_j ← c_j − δ`` with ``c_j`` the mean of
    ``j``'s points and ``δ`` a random direction of length ``perturbation · max(‖c_j‖, 1)``, and
    re-assign ``j``'s points to the nearer of the two. As ``c_j`` is their mean, a generic ``δ``
    splits distinct points; if one side is still empty (identical points) a random half of
    ``j``'s points moves to ``e``.

    Parameters
    ----------
    x : array_like, shape (n, d)
        The clustered points.
    labels : array_like of int, shape (n,)
        Assignments in ``[0, n_clusters)``.
    n_clusters : int
        K; must not exceed ``n``.
    rng : numpy.random.Generator

    Returns
    -------
    labels : numpy.ndarray of int, shape (n,)
        No cluster is empty; points move only from split clusters to the filled ones.
    centroids : numpy.ndarray, shape (n_clusters, d)
        Means of the final clusters.
    """
    pts = np.asarray(x, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.int64).copy()
    if n_clusters > len(lab):
        raise ValueError(f"cannot fill {n_clusters} clusters with {len(lab)} points")
    for empty in range(n_clusters):
        sizes = np.bincount(lab, minlength=n_clusters)
        if sizes[empty] > 0:
            continue
        donor = int(rng.choice(np.flatnonzero(sizes >= 2)))
        members = np.flatnonzero(lab == donor)
        centre = pts[members].mean(axis=0)
        direction = rng.normal(size=pts.shape[1])
        direction /= max(np.linalg.norm(direction), 1e-300)
        delta = perturbation * max(np.linalg.norm(centre), 1.0) * direction
        to_new = np.sum((pts[members] - (centre + delta)) ** 2, axis=1) < np.sum(
            (pts[members] - (centre - delta)) ** 2, axis=1)
        if to_new.all() or not to_new.any():
            to_new = np.zeros(len(members), dtype=bool)
            to_new[rng.permutation(len(members))[: len(members) // 2]] = True
        lab[members[to_new]] = empty
    centroids = np.stack([pts[lab == k].mean(axis=0) for k in range(n_clusters)])
    return lab, centroids


def kmeans_pseudo_labels(features: ArrayLike, n_clusters: int, rng: np.random.Generator, *,
                         pca_dim: int = PCA_DIM) -> NDArray[np.int64]:
    """DeepCluster's clustering step: PCA-whiten → L2-normalise → k-means → fill empties.

    Parameters
    ----------
    features : array_like, shape (n, f)
    n_clusters : int
        k (≤ n).
    rng : numpy.random.Generator
        Draws the k-means seed, then the empty-cluster splits.
    pca_dim : int

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Labels in ``[0, n_clusters)``, every cluster non-empty.
    """
    x = l2_normalise_rows(pca_whiten(features, pca_dim))
    seed = int(rng.integers(2**31))
    with warnings.catch_warnings():  # fewer distinct points than k: handled below
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=n_clusters, n_init=KMEANS_N_INIT, random_state=seed)
        labels = km.fit_predict(x).astype(np.int64)
    return fill_empty_clusters(x, labels, n_clusters, rng)[0]


def uniform_class_weights(labels: ArrayLike, n_clusters: int) -> NDArray[np.float64]:
    """Sampling probability of each sample, ∝ 1 / (size of its cluster); sums to 1.

    Every non-empty cluster then receives the same total probability ``1 / (#non-empty)``.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    lab = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(lab, minlength=n_clusters).astype(np.float64)
    w = 1.0 / sizes[lab]
    return w / w.sum()


def sample_uniform_over_classes(labels: ArrayLike, n_samples: int, n_clusters: int,
                                rng: np.random.Generator) -> NDArray[np.int64]:
    """Draw ``n_samples`` indices with replacement, uniformly over pseudo-classes.

    Returns
    -------
    numpy.ndarray of int, shape (n_samples,)
        Indices into ``labels``, drawn with :func:`uniform_class_weights`.
    """
    w = uniform_class_weights(labels, n_clusters)
    return rng.choice(len(w), size=n_samples, replace=True, p=w).astype(np.int64)


class DeepClusterTrainer(BaselineTrainer):
    """DeepCluster-3D on a :class:`~jimnet.io.ParticleSet` (``config.model == "deepcluster"``).

    Parameters
    ----------
    particles, config, out_dir, progress
        As :class:`jimnet.train.trainer.Trainer`.
    pca_dim : int
        Maximum PCA-whitening dimension before k-means.
    use_augmentation : bool
        Wedge-preserving perturbations of the training samples (as Caron et al. augment).
    augment_config : AugmentConfig, optional
    """

    model_name = "deepcluster"

    def __init__(self, *args, pca_dim: int = PCA_DIM, use_augmentation: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pca_dim = pca_dim
        self.use_augmentation = use_augmentation

    def pseudo_labels(self, rng: np.random.Generator) -> np.ndarray:
        """k-means pseudo-labels (n,) of the current features."""
        self._ensure_norm()
        features, _ = self.forward_pass()
        with self.phase("clustering"):
            return kmeans_pseudo_labels(features, self.config.n_clusters, rng,
                                        pca_dim=self.pca_dim)

    def predict_labels(self) -> np.ndarray:
        """k-means labels (n,) in ``[0, K)`` on the current model's features (seeded by
        ``(seed, epoch + 1)``: the pseudo-labels the next epoch would start from)."""
        return self.pseudo_labels(epoch_rng(self.config.seed, self.epoch + 1))

    def reset_head(self, seed: int) -> None:
        """Re-initialise the linear head in place (seeded) and drop its optimiser state."""
        head = self.model.cluster_head
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            fresh = nn.Linear(head.in_features, head.out_features)
        with torch.no_grad():
            head.weight.copy_(fresh.weight)
            head.bias.copy_(fresh.bias)
        for p in head.parameters():
            self.optimizer.state.pop(p, None)

    def train_pass(self, order: np.ndarray, labels: np.ndarray,
                   generator: torch.Generator) -> float:
        """One pass of cross-entropy training over the samples ``order``; mean loss."""
        self.model.train()
        targets = torch.as_tensor(labels, device=self.device)
        batches = batches_of(order, self.config.batch_size)
        total, count = 0.0, 0
        for step, idx in enumerate(batches):
            x = self._batch(idx)
            if self.use_augmentation:
                x = self._augment(x, idx, generator)
            loss = F.cross_entropy(self.model(x), targets[torch.as_tensor(idx)])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            self.progress("train", step + 1, len(batches))
        return total / max(count, 1)

    def run_epoch(self) -> EpochResult:
        cfg = self.config
        epoch = self.epoch + 1
        rng = epoch_rng(cfg.seed, epoch)
        labels = self.pseudo_labels(rng)
        losses: dict[str, float] = {}
        label_change = None
        if self.labels is not None:
            losses["nmi_previous"] = float(normalized_mutual_info_score(self.labels, labels))
            labels = reindex_labels(self.labels, labels, cfg.n_clusters)
            label_change = float(np.mean(labels != self.labels))
        self.reset_head(int(rng.integers(2**63)))
        generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
        order = sample_uniform_over_classes(labels, len(labels), cfg.n_clusters, rng)
        ce = self.train_pass(order, labels, generator)
        losses = {"total": ce, "ce": ce, **losses}
        self.labels = labels
        self.epoch = epoch
        return EpochResult(epoch=epoch, losses=losses,
                           cluster_sizes=np.bincount(labels, minlength=cfg.n_clusters).tolist(),
                           label_change=label_change, seconds=0.0,
                           accuracy_gmm=self.accuracy(labels))
