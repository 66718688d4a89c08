"""Paper metrics on datasets: clustering accuracy (Hungarian), per-class recall."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.evaluate.clustering": ("clustering_accuracy", "match_clusters_to_classes"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
