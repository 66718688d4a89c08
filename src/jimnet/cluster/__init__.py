"""Clustering: Jim-Net's t-SNE → GMM step, Hungarian re-indexing, the choice of K, and the
rotation-invariant spectral floor."""

from jimnet.cluster.gmm import (
    cluster_features,
    embed_for_clustering,
    fit_gmm,
    reindex_labels,
    select_n_clusters,
)
from jimnet.cluster.spectral import embed_features, observed_shell_power, spectral_features

__all__ = [
    "cluster_features",
    "embed_features",
    "embed_for_clustering",
    "fit_gmm",
    "observed_shell_power",
    "reindex_labels",
    "select_n_clusters",
    "spectral_features",
]
