"""Jim-Net's per-epoch clustering step (METHOD.md §5.1 steps 2–4) and the choice of K."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.manifold import TSNE
from sklearn.mixture import GaussianMixture

from jimnet.evaluate.clustering import match_clusters_to_classes


def embed_for_clustering(
    features: ArrayLike,
    *,
    seed: int,
    tsne_dims: int = 3,
    perplexity: float = 25.0,
    use_tsne: bool = True,
) -> NDArray[np.float64]:
    """The space the GMM is fitted in: a t-SNE embedding of the features, or the features.

    Parameters
    ----------
    features : array_like, shape (n, f)
        One row per subtomogram (e.g. M_CP penultimate features).
    seed : int
        Seeds t-SNE.
    tsne_dims : int
        Embedding dimension (3, as the 2D code).
    perplexity : float
        t-SNE perplexity; clipped to ``(n - 1) / 3`` for tiny sets.
    use_tsne : bool
        ``False`` returns the features themselves (ablation; faster for large n).

    Returns
    -------
    numpy.ndarray, shape (n, tsne_dims) or (n, f)
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need a (n, f) feature array with n ≥ 2, got {x.shape}")
    if not use_tsne:
        return x
    perp = float(min(perplexity, max(1.0, (len(x) - 1) / 3.0)))
    method = "barnes_hut" if tsne_dims <= 3 else "exact"
    return TSNE(n_components=tsne_dims, init="pca", perplexity=perp, random_state=seed,
                method=method).fit_transform(x)


def standardise_columns(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(x − mean) / std`` per column (a constant column stays 0): every GMM here is fitted in
    these coordinates, which makes its covariance regulariser scale-free."""
    return (x - x.mean(0)) / np.maximum(x.std(0), 1e-12)


def _fitted_gmm(z: NDArray[np.float64], n_clusters: int, seed: int, covariance_type: str,
                n_init: int) -> GaussianMixture:
    """A GMM fitted on ``z``, retried with a stronger covariance regulariser when a fit
    collapses a component (tiny or degenerate sets)."""
    if len(z) < n_clusters:
        raise ValueError(f"need at least {n_clusters} samples for {n_clusters} clusters, "
                         f"got {len(z)}")
    for reg in (1e-5, 1e-3, 1e-1):
        gmm = GaussianMixture(n_components=n_clusters, covariance_type=covariance_type,
                              random_state=seed, reg_covar=reg, n_init=n_init)
        try:
            return gmm.fit(z)
        except ValueError:
            continue
    raise ValueError(f"GMM with {n_clusters} components failed on {len(z)} samples")


def fit_gmm(embedding: ArrayLike, n_clusters: int, *, seed: int,
            covariance_type: str = "full", n_init: int = 1) -> NDArray[np.int64]:
    """Hard labels of a GMM with K components on standardised coordinates.

    A fit that collapses a component (tiny or degenerate sets) is retried with a stronger
    covariance regulariser. ``covariance_type`` and ``n_init`` are scikit-learn's.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        0-based cluster labels.
    """
    z = standardise_columns(np.asarray(embedding, dtype=np.float64))
    return _fitted_gmm(z, n_clusters, seed, covariance_type, n_init).predict(z).astype(np.int64)


def clustering_stability(embedding: ArrayLike, n_clusters: int, *, seed: int,
                         repeats: int = 10, covariance_type: str = "full",
                         n_init: int = 1) -> float:
    """How reproducible the GMM clusters of a space are: the mean adjusted Rand index between
    the labellings of all points by two GMMs fitted on disjoint random halves.

    Clusters that the data support come out the same from either half (index near 1);
    clusters cut through noise do not (near 0). Comparing the index of two feature spaces
    tells which one holds the classes (stability-based validation, Lange et al., Neural
    Computation 2004). The space is taken in its own coordinates, scaled by one number (not
    per column as :func:`fit_gmm` does): a component that barely varies is noise here, and
    standardising it would make every space look unstable.

    Returns
    -------
    float
        Mean adjusted Rand index over ``repeats`` random splits (−0.5 … 1).
    """
    from sklearn.metrics import adjusted_rand_score

    x = np.asarray(embedding, dtype=np.float64)
    if len(x) < 2 * n_clusters:
        raise ValueError(f"need at least {2 * n_clusters} samples, got {len(x)}")
    z = (x - x.mean(0)) / max(float(x.std()), 1e-12)
    rng = np.random.default_rng(seed)
    scores = []
    for r in range(repeats):
        order = rng.permutation(len(z))
        halves = order[: len(z) // 2], order[len(z) // 2:]
        a, b = (_fitted_gmm(z[h], n_clusters, seed + r, covariance_type, n_init).predict(z)
                for h in halves)
        scores.append(adjusted_rand_score(a, b))
    return float(np.mean(scores))


def cluster_features(
    features: ArrayLike,
    n_clusters: int,
    *,
    seed: int,
    tsne_dims: int = 3,
    perplexity: float = 25.0,
    use_tsne: bool = True,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """t-SNE embedding then a full-covariance GMM with K = ``n_clusters`` (given, as in the paper).

    Parameters are those of :func:`embed_for_clustering`; ``seed`` seeds t-SNE and the GMM.

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
    emb = embed_for_clustering(x, seed=seed, tsne_dims=tsne_dims, perplexity=perplexity,
                               use_tsne=use_tsne)
    return fit_gmm(emb, n_clusters, seed=seed), emb


def reindex_labels(previous: ArrayLike, current: ArrayLike, n_clusters: int) -> NDArray[np.int64]:
    """Rename ``current`` cluster ids to agree best with ``previous`` (Hungarian, full K×K table).

    Works with empty clusters on either side, so the classifier's targets stay stable across
    epochs.
    """
    cur = np.asarray(current, dtype=np.int64)
    mapping = match_clusters_to_classes(previous, cur, n_clusters, n_clusters)
    lookup = np.array([mapping[k] for k in range(n_clusters)], dtype=np.int64)
    return lookup[cur]


def select_n_clusters(features: ArrayLike, max_clusters: int, *, seed: int,
                      min_clusters: int = 1) -> tuple[int, dict[int, float]]:
    """Number of clusters K with the lowest BIC of a full-covariance GMM.

    The features are standardised as in :func:`fit_gmm`; each K is fitted with the same
    seed and three initialisations. BIC = −2 log L + p log n (Schwarz 1978), so a K is chosen only
    if its extra components pay for their parameters.

    Parameters
    ----------
    features : array_like, shape (n, f)
        A low-dimensional embedding (e.g. PCA or t-SNE of the clustering features).
    max_clusters, min_clusters : int
        Range of K tried (inclusive), clipped to ``n − 1``.
    seed : int

    Returns
    -------
    k : int
        The K of the lowest BIC.
    bic : dict of int to float
        The whole curve, for reporting.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be (n, f), got shape {x.shape}")
    hi = min(max_clusters, len(x) - 1)
    if hi < min_clusters or min_clusters < 1:
        raise ValueError(f"cannot try K = {min_clusters}…{max_clusters} on {len(x)} samples")
    z = standardise_columns(x)
    bic: dict[int, float] = {}
    for k in range(min_clusters, hi + 1):
        gmm = GaussianMixture(n_components=k, covariance_type="full", random_state=seed,
                              reg_covar=1e-3, n_init=3)
        bic[k] = float(gmm.fit(z).bic(z))
    return min(bic, key=bic.__getitem__), bic
