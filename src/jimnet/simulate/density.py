"""Structures → density maps at the simulation voxel size, centred in the box.

Atomic models and beads (SIMULATION_AND_BASELINES.md §1.0, Situs ``pdb2vol`` convention): each
point's mass is spread trilinearly onto the grid, then the grid is blurred with a Gaussian whose
1-D standard deviation is ``σ₁ = R / (2√3)`` for a target resolution ``R`` (Situs: ``R = 2σ`` with
the kernel ``exp(−1.5 r²/σ²)``). The blur is applied exactly, in Fourier space, on a padded grid.

Maps: the background (median of the map's outer shell) is subtracted, the map is low-passed to
the target resolution if it is sharper (assumed own resolution: ``map_resolution``, default twice
its voxel size) plus an anti-aliasing blur when it is downsampled, then resampled onto the target
grid with cubic splines.

In both cases the **centre of mass** (mass-weighted points; positive part of a map) lands on voxel
``N // 2`` of the ``N³`` box (the rotation centre of :func:`jimnet.transform.rigid_transform`),
whatever falls outside the box is cut, and the result is scaled to a maximum of 1 (protein bright;
the imaging step inverts the contrast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from jimnet.errors import JimnetInputError
from jimnet.simulate.structures import Structure

__all__ = [
    "DensityInfo",
    "map_to_density",
    "points_to_density",
    "situs_sigma",
    "structure_density",
]


def situs_sigma(resolution: float) -> float:
    """1-D Gaussian standard deviation ``R / (2√3)`` for a Situs target resolution ``R``.

    Units follow the input (Å → Å).
    """
    return resolution / (2.0 * math.sqrt(3.0))


@dataclass(frozen=True)
class DensityInfo:
    """What happened when making a density.

    Attributes
    ----------
    fraction_outside : float
        Fraction of the mass (points) or positive density (maps) cut off by the box.
    radius_of_gyration : float
        Of the (unclipped) input, in Å.
    scale : float
        Factor applied to reach a maximum of 1.
    """

    fraction_outside: float
    radius_of_gyration: float
    scale: float


def _fourier_gaussian_blur(grid: NDArray[np.float64], sigma_vox: float) -> NDArray[np.float64]:
    if sigma_vox <= 0:
        return grid
    freqs = [np.fft.fftfreq(n) for n in grid.shape[:-1]] + [np.fft.rfftfreq(grid.shape[-1])]
    kz, ky, kx = np.meshgrid(*freqs, indexing="ij")
    gauss = np.exp(-2.0 * math.pi**2 * sigma_vox**2 * (kz**2 + ky**2 + kx**2))
    return np.fft.irfftn(np.fft.rfftn(grid) * gauss, s=grid.shape, axes=(0, 1, 2))


def points_to_density(
    points_zyx: NDArray[np.float64],
    masses: NDArray[np.float64],
    box: int,
    voxel_size: float,
    resolution: float,
) -> tuple[NDArray[np.float64], float]:
    """Mass-weighted Gaussian density of points, centre of mass at voxel ``box // 2``.

    Parameters
    ----------
    points_zyx : numpy.ndarray, shape (P, 3)
        Positions in Å (zyx).
    masses : numpy.ndarray, shape (P,)
        Masses in Da.
    box : int
        Output box edge ``N`` (voxels).
    voxel_size : float
        Å per voxel.
    resolution : float
        Situs target resolution ``R`` in Å (Gaussian ``σ₁ = R/(2√3)``); 0 for trilinear spreading
        only.

    Returns
    -------
    density : numpy.ndarray, shape (box, box, box)
        Unnormalised density (Da per voxel), zyx.
    fraction_outside : float
        Fraction of the total mass whose spread falls outside the box.
    """
    sigma_vox = situs_sigma(resolution) / voxel_size
    pad = math.ceil(4.0 * sigma_vox) + 2
    big = box + 2 * pad
    com = np.average(points_zyx, axis=0, weights=masses)
    pos = (points_zyx - com) / voxel_size + big // 2  # big // 2 == box // 2 + pad
    base = np.floor(pos).astype(np.int64)
    frac = pos - base
    keep = np.all((base >= 0) & (base < big - 1), axis=1)
    base, frac, mass = base[keep], frac[keep], masses[keep]
    grid = np.zeros((big, big, big), dtype=np.float64)
    for corner in np.ndindex(2, 2, 2):
        off = np.array(corner)
        weight = np.prod(np.where(off == 1, frac, 1.0 - frac), axis=1) * mass
        idx = base + off
        np.add.at(grid, (idx[:, 0], idx[:, 1], idx[:, 2]), weight)
    grid = _fourier_gaussian_blur(grid, sigma_vox)
    density = grid[pad : pad + box, pad : pad + box, pad : pad + box]
    total = float(masses.sum())
    fraction_outside = max(0.0, 1.0 - float(density.sum()) / total)
    return np.ascontiguousarray(density), fraction_outside


def _border_median(data: NDArray[np.float32]) -> float:
    shell = np.concatenate([data[[0, -1]].ravel(), data[:, [0, -1]].ravel(),
                            data[:, :, [0, -1]].ravel()])
    return float(np.median(shell))


def map_to_density(
    density_map: NDArray[np.float32],
    map_voxel_size: float,
    box: int,
    voxel_size: float,
    resolution: float | None = None,
    map_resolution: float | None = None,
) -> tuple[NDArray[np.float64], float]:
    """Resample a density map to ``voxel_size``, centre of mass at voxel ``box // 2``.

    Parameters
    ----------
    density_map : numpy.ndarray, shape (D, H, W)
        Input map (zyx), protein bright.
    map_voxel_size : float
        Å per voxel of the input.
    box : int
        Output box edge (voxels).
    voxel_size : float
        Output Å per voxel.
    resolution : float, optional
        Target resolution ``R`` (Å, Situs convention). If the map is sharper than ``R``, it is
        blurred by the Gaussian that brings ``σ₁(map_resolution)`` to ``σ₁(R)``.
    map_resolution : float, optional
        The map's own resolution in Å (default ``2 · map_voxel_size``, its Nyquist limit).

    Returns
    -------
    density : numpy.ndarray, shape (box, box, box)
        Background-subtracted, resampled density (input units).
    fraction_outside : float
        Fraction of the positive density that falls outside the box.
    """
    data = np.asarray(density_map, dtype=np.float64)
    data = data - _border_median(density_map)
    positive = np.clip(data, 0.0, None)
    if positive.sum() <= 0:
        raise JimnetInputError("density map has no density above its border level")
    coords = np.indices(data.shape, dtype=np.float64).reshape(3, -1)
    com = coords @ positive.ravel() / positive.sum()

    scale = voxel_size / map_voxel_size  # input voxels per output voxel
    sigma_aa = max(0.0, (scale - 1.0) / 2.0)  # anti-aliasing when downsampling (input voxels)
    own = map_resolution if map_resolution is not None else 2.0 * map_voxel_size
    sigma_res = 0.0
    if resolution is not None and resolution > own:
        sigma_res = math.sqrt(situs_sigma(resolution) ** 2 - situs_sigma(own) ** 2) / map_voxel_size
    sigma = math.hypot(sigma_aa, sigma_res)
    if sigma > 0:
        data = ndimage.gaussian_filter(data, sigma, mode="constant", cval=0.0, truncate=4.0)

    out_idx = np.indices((box, box, box), dtype=np.float64).reshape(3, -1)
    src = com[:, None] + (out_idx - box // 2) * scale
    density = ndimage.map_coordinates(data, src, order=3, mode="constant", cval=0.0,
                                      prefilter=True).reshape(box, box, box)
    total = float(np.clip(data, 0.0, None).sum()) * scale**-3
    inside = float(np.clip(density, 0.0, None).sum())
    fraction_outside = max(0.0, 1.0 - inside / total) if total > 0 else 0.0
    return density, fraction_outside


def structure_density(
    structure: Structure,
    box: int = 32,
    voxel_size: float = 12.0,
    resolution: float = 12.0,
    *,
    map_resolution: float | None = None,
) -> tuple[NDArray[np.float32], DensityInfo]:
    """Density of a structure in an ``N³`` box, centre of mass at ``N // 2``, maximum 1.

    Parameters
    ----------
    structure : Structure
        From :func:`jimnet.simulate.load_structure`.
    box : int
        Box edge ``N`` in voxels.
    voxel_size : float
        Å per voxel (default 12 Å = 1.2 nm, the benchmark's).
    resolution : float
        Target resolution ``R`` in Å (Situs convention, Gaussian ``σ₁ = R/(2√3)``; default 12 Å).
        For maps, only applied when the map is sharper than ``R`` (see :func:`map_to_density`).
    map_resolution : float, optional
        Own resolution of a map (Å); default twice its voxel size.

    Returns
    -------
    density : numpy.ndarray, shape (N, N, N), float32
        zyx, positive (protein bright), maximum 1.
    info : DensityInfo
    """
    if structure.kind == "map":
        assert structure.density_map is not None and structure.map_voxel_size is not None
        dens, outside = map_to_density(structure.density_map, structure.map_voxel_size, box,
                                       voxel_size, resolution, map_resolution)
        positive = np.clip(structure.density_map.astype(np.float64), 0, None)
        coords = np.indices(positive.shape).reshape(3, -1).T * structure.map_voxel_size
        weights = positive.ravel()
    else:
        assert structure.points_zyx is not None and structure.masses is not None
        dens, outside = points_to_density(structure.points_zyx, structure.masses, box, voxel_size,
                                          resolution)
        coords, weights = structure.points_zyx, structure.masses
    com = np.average(coords, axis=0, weights=weights)
    rg = float(np.sqrt(np.average(np.sum((coords - com) ** 2, axis=1), weights=weights)))
    peak = float(dens.max())
    if not peak > 0:
        raise JimnetInputError(f"{structure.source}: empty density in a {box}³ box")
    info = DensityInfo(fraction_outside=outside, radius_of_gyration=rg, scale=1.0 / peak)
    return (dens / peak).astype(np.float32), info
