"""Wedge-weighted averaging and FSC/resolution."""

from jimnet.average.accumulate import WedgeWeightedAverage
from jimnet.average.resolution import fsc_curve, resolution_angstrom

__all__ = ["WedgeWeightedAverage", "fsc_curve", "resolution_angstrom"]
