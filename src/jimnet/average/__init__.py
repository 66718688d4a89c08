"""Subtomogram averaging: wedge-weighted Fourier averages, reference-free iterations, FSC."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.average.fsc": (
        "HALF_MAP_THRESHOLD", "KNOWN_MAP_THRESHOLD", "FSCResult", "compute_fsc",
        "crossing_frequency", "fsc_curve", "plot_fsc",
    ),
    "jimnet.average.iterative": ("IterativeResult", "iterative_average"),
    "jimnet.average.wedge_average": ("WedgeWeightedAverager", "wedge_weighted_average"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
