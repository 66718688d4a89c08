"""FSC curves (torch-fourier-shell-correlation) and resolution at a threshold."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch_fourier_shell_correlation import fourier_shell_correlation


def fsc_curve(map_a: torch.Tensor, map_b: torch.Tensor
              ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fourier shell correlation of two cubic maps.

    Parameters
    ----------
    map_a, map_b : torch.Tensor, shape (N, N, N)

    Returns
    -------
    frequency : numpy.ndarray, shape (N // 2 + 1,)
        Shell frequencies in cycles/voxel (0 … 0.5).
    fsc : numpy.ndarray, shape (N // 2 + 1,)
    """
    a = torch.as_tensor(map_a, dtype=torch.float64)
    b = torch.as_tensor(map_b, dtype=torch.float64)
    curve = fourier_shell_correlation(a, b).cpu().numpy().astype(np.float64)
    freq = np.arange(len(curve)) / a.shape[-1]
    return freq, curve


def resolution_angstrom(frequency: NDArray, fsc: NDArray, threshold: float,
                        voxel_size: float) -> float:
    """Resolution (Å) where the FSC first drops below ``threshold`` (0.143 half maps, 0.5 vs truth).

    The crossing is interpolated linearly between shells; DC is skipped. Returns the Nyquist
    resolution ``2·voxel_size`` if the curve never drops below the threshold, and ``inf`` if it
    starts below it.
    """
    f, c = np.asarray(frequency)[1:], np.asarray(fsc)[1:]
    below = np.flatnonzero(c < threshold)
    if len(below) == 0:
        return 2.0 * voxel_size
    i = int(below[0])
    if i == 0:
        return float("inf")
    t = (c[i - 1] - threshold) / (c[i - 1] - c[i])
    crossing = f[i - 1] + t * (f[i] - f[i - 1])
    return float(voxel_size / crossing)
