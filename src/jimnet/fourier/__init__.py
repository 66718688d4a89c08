"""Fourier-space tools: frequency grids, missing-wedge masks, Fourier shifts and the CTF.

Frequencies are in cycles/voxel in array-axis (zyx) order; the "shifted" layout has its DC term at
``N // 2``, the real-space box centre. See :mod:`jimnet.fourier.grids` for the layouts.
"""

from jimnet.fourier.ctf import ctf, ctf_grid, electron_wavelength_nm
from jimnet.fourier.grids import (
    LAYOUTS,
    Layout,
    fourier_shape,
    frequency_axes,
    frequency_grid,
    frequency_magnitude,
    sphere_mask,
)
from jimnet.fourier.resample import fourier_resample, resampled_voxel_size
from jimnet.fourier.shift import fourier_shift, shift_phase
from jimnet.fourier.wedge import common_wedge_mask, tilt_rotation, wedge_mask, wedge_masks

__all__ = [
    "LAYOUTS",
    "Layout",
    "common_wedge_mask",
    "ctf",
    "ctf_grid",
    "electron_wavelength_nm",
    "fourier_resample",
    "fourier_shape",
    "fourier_shift",
    "frequency_axes",
    "frequency_grid",
    "frequency_magnitude",
    "resampled_voxel_size",
    "shift_phase",
    "sphere_mask",
    "tilt_rotation",
    "wedge_mask",
    "wedge_masks",
]
