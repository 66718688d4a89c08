"""Clustering accuracy after Hungarian matching (METHOD.md §8.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment


def contingency_matrix(labels_a: ArrayLike, labels_b: ArrayLike, n_a: int, n_b: int) -> NDArray:
    """Counts ``C[i, j]`` of samples with ``labels_a == i`` and ``labels_b == j`` (0-based labels).

    The matrix is always ``(n_a, n_b)``, so labels missing from one side (empty clusters) still get
    a row/column.
    """
    a = np.asarray(labels_a, dtype=np.int64)
    b = np.asarray(labels_b, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in shape: {a.shape} vs {b.shape}")
    counts = np.zeros((n_a, n_b), dtype=np.int64)
    np.add.at(counts, (a, b), 1)
    return counts


def match_clusters_to_classes(
    true_classes: ArrayLike, clusters: ArrayLike, n_classes: int | None = None,
    n_clusters: int | None = None,
) -> dict[int, int]:
    """Hungarian assignment cluster → class maximising the number of matched samples.

    Parameters
    ----------
    true_classes, clusters : array_like of int, shape (n,)
        0-based labels.
    n_classes, n_clusters : int, optional
        Sizes of the label spaces (default: max label + 1).

    Returns
    -------
    dict
        ``{cluster: class}`` for every matched cluster (unmatched clusters when there are more
        clusters than classes are left out).
    """
    t = np.asarray(true_classes, dtype=np.int64)
    c = np.asarray(clusters, dtype=np.int64)
    k_t = int(n_classes if n_classes is not None else t.max() + 1)
    k_c = int(n_clusters if n_clusters is not None else c.max() + 1)
    counts = contingency_matrix(c, t, k_c, k_t)
    rows, cols = linear_sum_assignment(-counts)
    return {int(r): int(col) for r, col in zip(rows, cols, strict=True)}


@dataclass(frozen=True)
class ClusteringScore:
    """Accuracy (fraction in [0, 1]) and per-class recall under the global Hungarian matching."""

    accuracy: float
    per_class_recall: NDArray[np.float64]
    mapping: dict[int, int]


def clustering_accuracy(true_classes: ArrayLike, clusters: ArrayLike,
                        n_classes: int | None = None) -> ClusteringScore:
    """The paper's clustering accuracy: fraction of samples whose matched cluster is their class.

    ``per_class_recall[k]`` is the fraction of class ``k`` landing in the cluster matched to ``k``
    (the per-macromolecule numbers of tables S6–S10). Labels are 0-based.
    """
    t = np.asarray(true_classes, dtype=np.int64)
    c = np.asarray(clusters, dtype=np.int64)
    k_t = int(n_classes if n_classes is not None else t.max() + 1)
    mapping = match_clusters_to_classes(t, c, k_t, int(max(c.max() + 1, k_t)))
    predicted = np.array([mapping.get(int(x), -1) for x in c])
    correct = predicted == t
    recall = np.array([correct[t == k].mean() if np.any(t == k) else np.nan for k in range(k_t)])
    return ClusteringScore(float(correct.mean()), recall, mapping)
