"""Procedural point-group-symmetric test objects (for symmetry-aware alignment and averaging)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from jimnet.geometry.symmetry import symmetry_group

__all__ = ["symmetric_blobs"]


def symmetric_blobs(n: int, symmetry: str, seed: int, n_blobs: int = 6,
                    sigma: float = 1.2, extent: float = 0.22) -> NDArray[np.float32]:
    """Gaussian blobs on the orbits of random points under a point group, centred at ``N // 2``.

    Each of ``n_blobs`` random points (uniform in a cube of half-width ``extent · N`` voxels,
    random weight 0.5…1.5, width ``sigma·(0.7…1.5)`` voxels) is copied to ``g p`` for every
    ``g`` of the group, so rotating the volume by any ``g`` about the centre leaves it unchanged
    (exactly, up to sampling); the points themselves are asymmetric, so the object has no other
    symmetry.

    Parameters
    ----------
    n : int
        Box edge, voxels.
    symmetry : str
        ``C1``, ``Cn``, ``Dn``, ``T``, ``O`` or ``I`` (:mod:`jimnet.geometry.symmetry`).
    seed : int

    Returns
    -------
    numpy.ndarray, shape (N, N, N), float32, zyx
    """
    rng = np.random.default_rng(seed)
    group = symmetry_group(symmetry)
    axis = np.arange(n, dtype=np.float64) - n // 2
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1)  # (N, N, N, 3) zyx
    vol = np.zeros((n, n, n))
    for _ in range(n_blobs):
        point = rng.uniform(-extent * n, extent * n, 3)
        weight = rng.uniform(0.5, 1.5)
        width = sigma * rng.uniform(0.7, 1.5)
        for g in group:
            d2 = np.sum((grid - g @ point) ** 2, axis=-1)
            vol += weight * np.exp(-d2 / (2.0 * width**2))
    return vol.astype(np.float32)
