"""Training: clustering step (t-SNE → GMM → Hungarian re-indexing) and pair samplers."""

from jimnet.train.clustering import cluster_features, reindex_labels
from jimnet.train.pairs import within_cluster_pairs

__all__ = ["cluster_features", "reindex_labels", "within_cluster_pairs"]
