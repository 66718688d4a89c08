"""Paper metrics on datasets: clustering accuracy (Hungarian), per-class recall."""

from jimnet.evaluate.clustering import clustering_accuracy, match_clusters_to_classes

__all__ = ["clustering_accuracy", "match_clusters_to_classes"]
