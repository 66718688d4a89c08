"""Clustering: Jim-Net's t-SNE → GMM step, Hungarian re-indexing, the choice of K, and the
rotation-invariant spectral floor."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.cluster.gmm import (
        cluster_features,
        embed_for_clustering,
        fit_gmm,
        reindex_labels,
        select_n_clusters,
    )
    from jimnet.cluster.spectral import embed_features, observed_shell_power, spectral_features

_EXPORTS = {
    "cluster_features": "jimnet.cluster.gmm",
    "embed_for_clustering": "jimnet.cluster.gmm",
    "fit_gmm": "jimnet.cluster.gmm",
    "reindex_labels": "jimnet.cluster.gmm",
    "select_n_clusters": "jimnet.cluster.gmm",
    "embed_features": "jimnet.cluster.spectral",
    "observed_shell_power": "jimnet.cluster.spectral",
    "spectral_features": "jimnet.cluster.spectral",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
