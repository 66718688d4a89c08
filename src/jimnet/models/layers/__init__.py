"""Building blocks: SDC blocks, spectral pooling, feature correlation, per-position L2 norm."""

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
