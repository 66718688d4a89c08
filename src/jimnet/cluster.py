"""Jim-Net's per-epoch clustering step (METHOD.md §5.1 steps 2–4)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.manifold import TSNE
from sklearn.mixture import GaussianMixture

from jimnet.evaluate.clustering import match_clusters_to_classes


def cluster_features(
    features: ArrayLike,
    n_clusters: int,
    *,
    seed: int,
    tsne_dims: int = 3,
    perplexity: float = 25.0,
    use_tsne: bool = True,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """t-SNE embedding then a full-covariance GMM; hard labels.

    Parameters
    ----------
    features : array_like, shape (n, f)
        M_CP penultimate features, one row per subtomogram.
    n_clusters : int
        K, given (not estimated), as in the paper.
    seed : int
        Seeds both t-SNE and the GMM.
    tsne_dims : int
        Embedding dimension (3, as the 2D code).
    perplexity : float
        t-SNE perplexity; clipped to ``(n - 1) / 3`` for tiny sets.
    use_tsne : bool
        ``False`` fits the GMM on the raw features (ablation; faster for large n).

    Returns
    -------
    labels : numpy.ndarray of int, shape (n,)
        0-based cluster labels.
    embedding : numpy.ndarray, shape (n, tsne_dims) or (n, f)
        What the GMM was fitted on.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < n_clusters:
        raise ValueError(f"need a (n, f) feature array with n ≥ {n_clusters}, got {x.shape}")
    if use_tsne:
        perp = float(min(perplexity, max(1.0, (len(x) - 1) / 3.0)))
        method = "barnes_hut" if tsne_dims <= 3 else "exact"
        emb = TSNE(n_components=tsne_dims, init="pca", perplexity=perp, random_state=seed,
                   method=method).fit_transform(x)
    else:
        emb = x
    # Standardised coordinates make the covariance regulariser scale-free; a fit that collapses a
    # component (tiny or degenerate sets) is retried with a stronger regulariser.
    z = (emb - emb.mean(0)) / np.maximum(emb.std(0), 1e-12)
    for reg in (1e-5, 1e-3, 1e-1):
        gmm = GaussianMixture(n_components=n_clusters, covariance_type="full",
                              random_state=seed, reg_covar=reg)
        try:
            labels = gmm.fit_predict(z)
            break
        except ValueError:
            continue
    else:
        raise ValueError(f"GMM with {n_clusters} components failed on {len(x)} samples")
    return labels.astype(np.int64), emb


def reindex_labels(previous: ArrayLike, current: ArrayLike, n_clusters: int) -> NDArray[np.int64]:
    """Rename ``current`` cluster ids to agree best with ``previous`` (Hungarian, full K×K table).

    Works with empty clusters on either side, so the classifier's targets stay stable across
    epochs.
    """
    cur = np.asarray(current, dtype=np.int64)
    mapping = match_clusters_to_classes(previous, cur, n_clusters, n_clusters)
    lookup = np.array([mapping[k] for k in range(n_clusters)], dtype=np.int64)
    return lookup[cur]
