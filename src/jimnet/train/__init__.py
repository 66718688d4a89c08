"""Training loops: Jim-Net/Gum-Net (pair matching), DeepCluster-3D and PICA-3D baselines."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.train.pairs": ("within_cluster_pairs",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
