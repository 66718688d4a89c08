"""Building blocks: SDC blocks, spectral pooling, feature correlation, per-position L2 norm."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.models.layers.correlation": (
        "GlobalCorrelation", "LocalCorrelation", "global_correlation", "local_correlation",
        "local_displacements",
    ),
    "jimnet.models.layers.l2norm": ("FeatureL2Norm", "feature_l2_norm"),
    "jimnet.models.layers.sdc": ("KERAS_BN_EPS", "KERAS_BN_MOMENTUM", "SDCBlock", "crop3d"),
    "jimnet.models.layers.spectral": (
        "SpectralPool", "dct_matrix", "spectral_pool", "spectral_pool_matrix",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
