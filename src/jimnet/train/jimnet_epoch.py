"""The clustering half of Jim-Net's per-epoch loop (METHOD.md §5.1 steps 2–6), shared by the 3D
and 2D trainers: t-SNE(3) → GMM → Hungarian re-indexing → classifier warm start → within-cluster
pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from jimnet.cluster import cluster_features, reindex_labels
from jimnet.losses import cluster_cross_entropy
from jimnet.train.pairs import within_cluster_pairs


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The random stream of one epoch: depends on ``(seed, epoch)`` only, so a resumed run draws
    what an uninterrupted one would."""
    return np.random.default_rng([seed, epoch])


@dataclass(frozen=True)
class ClusteringStep:
    """Labels (n,) re-indexed to the previous epoch's, the (n, 2) source/target pairs, and the
    fraction of labels that changed (``None`` in the first epoch)."""

    labels: NDArray[np.int64]
    pairs: NDArray[np.int64]
    label_change: float | None


def clustering_step(features: np.ndarray, previous: np.ndarray | None, n_clusters: int,
                    rng: np.random.Generator, *, use_tsne: bool = True) -> ClusteringStep:
    """Cluster M_CP features (n, F), keep the cluster ids stable, draw within-cluster pairs."""
    labels, _ = cluster_features(features, n_clusters, seed=int(rng.integers(2**31)),
                                 use_tsne=use_tsne)
    change = None
    if previous is not None:
        labels = reindex_labels(previous, labels, n_clusters)
        change = float(np.mean(labels != previous))
    return ClusteringStep(labels, within_cluster_pairs(labels, rng), change)


def warm_start_classifier(layer: nn.Module, features: np.ndarray, labels: np.ndarray,
                          rng: np.random.Generator, *, epochs: int, batch_size: int, lr: float,
                          device: torch.device | str = "cpu") -> None:
    """Train only M_CP's last layer on cached features against the new labels (step 5, Adam)."""
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    x = torch.as_tensor(features, dtype=torch.float32, device=device)
    y = torch.as_tensor(labels, device=device)
    for _ in range(epochs):
        order = torch.as_tensor(rng.permutation(len(x)), device=device)
        for start in range(0, len(x), batch_size):
            sel = order[start:start + batch_size]
            opt.zero_grad()
            cluster_cross_entropy(layer(x[sel]), y[sel]).backward()
            opt.step()
