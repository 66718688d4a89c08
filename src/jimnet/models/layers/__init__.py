"""Building blocks: SDC blocks, spectral pooling, feature correlation, per-position L2 norm."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.models.layers.correlation import (
        GlobalCorrelation,
        LocalCorrelation,
        global_correlation,
        local_correlation,
        local_displacements,
    )
    from jimnet.models.layers.l2norm import FeatureL2Norm, feature_l2_norm
    from jimnet.models.layers.sdc import KERAS_BN_EPS, KERAS_BN_MOMENTUM, SDCBlock, crop3d
    from jimnet.models.layers.spectral import (
        SpectralPool,
        dct_matrix,
        spectral_pool,
        spectral_pool_matrix,
    )

_EXPORTS = {
    "GlobalCorrelation": "jimnet.models.layers.correlation",
    "LocalCorrelation": "jimnet.models.layers.correlation",
    "global_correlation": "jimnet.models.layers.correlation",
    "local_correlation": "jimnet.models.layers.correlation",
    "local_displacements": "jimnet.models.layers.correlation",
    "FeatureL2Norm": "jimnet.models.layers.l2norm",
    "feature_l2_norm": "jimnet.models.layers.l2norm",
    "KERAS_BN_EPS": "jimnet.models.layers.sdc",
    "KERAS_BN_MOMENTUM": "jimnet.models.layers.sdc",
    "SDCBlock": "jimnet.models.layers.sdc",
    "crop3d": "jimnet.models.layers.sdc",
    "SpectralPool": "jimnet.models.layers.spectral",
    "dct_matrix": "jimnet.models.layers.spectral",
    "spectral_pool": "jimnet.models.layers.spectral",
    "spectral_pool_matrix": "jimnet.models.layers.spectral",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "KERAS_BN_EPS",
    "KERAS_BN_MOMENTUM",
    "FeatureL2Norm",
    "GlobalCorrelation",
    "LocalCorrelation",
    "SDCBlock",
    "SpectralPool",
    "crop3d",
    "dct_matrix",
    "feature_l2_norm",
    "global_correlation",
    "local_correlation",
    "local_displacements",
    "spectral_pool",
    "spectral_pool_matrix",
]
