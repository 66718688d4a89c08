"""Clustering: Jim-Net's t-SNE → GMM step, Hungarian re-indexing, the choice of K, and the
rotation-invariant spectral floor."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.cluster.gmm": (
        "cluster_features", "clustering_stability", "embed_for_clustering", "fit_gmm",
        "reindex_labels", "select_n_clusters",
    ),
    "jimnet.cluster.frame": ("frame_correlations", "frame_differences", "frame_features"),
    "jimnet.cluster.spectral": ("embed_features", "observed_shell_power", "spectral_features"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
