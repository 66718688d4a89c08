"""Training loops: Jim-Net/Gum-Net (pair matching), DeepCluster-3D and PICA-3D baselines."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.train.pairs import within_cluster_pairs

_EXPORTS = {
    "within_cluster_pairs": "jimnet.train.pairs",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["within_cluster_pairs"]
