"""Training loops: Jim-Net/Gum-Net (pair matching), DeepCluster-3D and PICA-3D baselines."""

from jimnet.train.pairs import within_cluster_pairs

__all__ = ["within_cluster_pairs"]
