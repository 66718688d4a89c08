"""Subtomogram averaging: wedge-weighted Fourier averages, reference-free iterations, FSC."""

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
