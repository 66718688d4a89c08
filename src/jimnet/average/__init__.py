"""Subtomogram averaging: wedge-weighted Fourier averages, reference-free iterations, FSC."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.average.fsc import (
        HALF_MAP_THRESHOLD,
        KNOWN_MAP_THRESHOLD,
        FSCResult,
        compute_fsc,
        crossing_frequency,
        fsc_curve,
        plot_fsc,
    )
    from jimnet.average.iterative import IterativeResult, iterative_average
    from jimnet.average.wedge_average import WedgeWeightedAverager, wedge_weighted_average

_EXPORTS = {
    "HALF_MAP_THRESHOLD": "jimnet.average.fsc",
    "KNOWN_MAP_THRESHOLD": "jimnet.average.fsc",
    "FSCResult": "jimnet.average.fsc",
    "compute_fsc": "jimnet.average.fsc",
    "crossing_frequency": "jimnet.average.fsc",
    "fsc_curve": "jimnet.average.fsc",
    "plot_fsc": "jimnet.average.fsc",
    "IterativeResult": "jimnet.average.iterative",
    "iterative_average": "jimnet.average.iterative",
    "WedgeWeightedAverager": "jimnet.average.wedge_average",
    "wedge_weighted_average": "jimnet.average.wedge_average",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "HALF_MAP_THRESHOLD",
    "KNOWN_MAP_THRESHOLD",
    "FSCResult",
    "IterativeResult",
    "WedgeWeightedAverager",
    "compute_fsc",
    "crossing_frequency",
    "fsc_curve",
    "iterative_average",
    "plot_fsc",
    "wedge_weighted_average",
]
