"""Paper metrics on datasets: clustering accuracy (Hungarian), per-class recall."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.evaluate.clustering import clustering_accuracy, match_clusters_to_classes

_EXPORTS = {
    "clustering_accuracy": "jimnet.evaluate.clustering",
    "match_clusters_to_classes": "jimnet.evaluate.clustering",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["clustering_accuracy", "match_clusters_to_classes"]
