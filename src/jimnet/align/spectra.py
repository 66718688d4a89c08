r"""Centred Fourier spectra of subtomograms and their values at rotated frequencies.

The rotational search never resamples volumes in real space: it samples the **centred** transform
of the (zero-padded) source at the rotated frequencies ``Rᵀk``. For ``v_R = rigid_transform(v, R)``
(rotation about the box centre ``c = N // 2``),

    V_R(k) = V(Rᵀ k),   V(k) = Σ_x v(x) e^{−2πi k·(x − c)/N},

so the spectrum of every rotated copy is a lookup in one precomputed array (the Fourier-space
form of :func:`jimnet.transform.rigid_transform`, checked against it in the tests). Zero-padding
by ``pad`` (default 2, as RELION's projector) makes trilinear interpolation of the complex values
accurate; the real-space attenuation of trilinear interpolation (``sinc²`` per axis) is
pre-compensated ("gridding correction").

Units: frequencies ``k`` are in **cycles per box** (integers on the DFT grid of the ``N``-box,
zyx); ``k / N`` is cycles/voxel. The working box of a search level is a Fourier crop of size ``M``
of the same spectrum: its DFT index ``j`` is the same frequency ``k = j`` and its real-space voxel
is ``N / M`` original voxels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SPATIAL = (-3, -2, -1)


def soft_sphere(
    shape: tuple[int, int, int],
    radius: float,
    width: float,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Real-space soft spherical mask about the box centre ``N // 2``.

    Parameters
    ----------
    shape : (D, H, W)
    radius : float
        Outer radius in voxels (mask is 0 beyond it).
    width : float
        Width of the raised-cosine edge in voxels (mask is 1 within ``radius − width``).

    Returns
    -------
    torch.Tensor, shape (D, H, W)
    """
    axes = [torch.arange(n, dtype=dtype, device=device) - n // 2 for n in shape]
    zz, yy, xx = torch.meshgrid(*axes, indexing="ij")
    r = (zz**2 + yy**2 + xx**2).sqrt()
    inner = radius - width
    if width <= 0:
        return (r <= radius).to(dtype)
    t = ((r - inner) / width).clamp(0.0, 1.0)
    return 0.5 * (1.0 + torch.cos(math.pi * t))


def centred_spectrum(volume: torch.Tensor, pad: int = 1, *, gridding: bool = False) -> torch.Tensor:
    """Centred DFT of real volumes, zero-padded by ``pad``, in the shifted layout.

    Parameters
    ----------
    volume : torch.Tensor, shape (..., N, N, N)
        Real volumes, box centre ``N // 2``.
    pad : int
        Padding factor; the output box is ``S = pad·N`` and the volume's centre lands on
        ``S // 2``, so the phase origin is the box centre for every ``pad``.
    gridding : bool
        Divide by ``sinc²(x / S)`` per axis first (pre-compensates trilinear interpolation in
        Fourier space; use it for spectra that will be sampled at rotated points).

    Returns
    -------
    torch.Tensor, complex, shape (..., S, S, S)
        ``V(k)`` at integer ``k / pad`` cycles per ``N``-box, DC at index ``S // 2``.
    """
    n = volume.shape[-1]
    if volume.shape[-3:] != (n, n, n):
        raise ValueError(f"volumes must be cubic, got {tuple(volume.shape[-3:])}")
    s = pad * n
    vol = volume
    if gridding:
        x = torch.arange(n, dtype=volume.dtype, device=volume.device) - n // 2
        corr = torch.sinc(x / s) ** 2
        vol = vol / (corr[:, None, None] * corr[None, :, None] * corr[None, None, :])
    if pad != 1:
        before = s // 2 - n // 2
        after = s - n - before
        vol = F.pad(vol, (before, after) * 3)
    spec = torch.fft.fftn(torch.fft.ifftshift(vol, dim=SPATIAL), dim=SPATIAL)
    return torch.fft.fftshift(spec, dim=SPATIAL)


@dataclass(frozen=True)
class FourierPoints:
    """Half-space DFT samples of a working box inside a frequency band.

    Attributes
    ----------
    box : int
        Working box size ``M`` (even).
    k : torch.Tensor, shape (n, 3)
        Frequencies in cycles per box (zyx), ``k_x ≥ 0``, ``r_lo ≤ |k| ≤ r_hi``.
    index : torch.Tensor, shape (n,), int64
        Flat index of each sample in an ``rfftn`` array of shape ``(M, M, M // 2 + 1)``.
    weight : torch.Tensor, shape (n,)
        Hermitian multiplicity: 1 on the ``k_x = 0`` plane, 2 elsewhere, so weighted half-space
        sums equal full-spectrum sums.
    """

    box: int
    k: torch.Tensor
    index: torch.Tensor
    weight: torch.Tensor

    @property
    def rfft_shape(self) -> tuple[int, int, int]:
        """Shape ``(M, M, M // 2 + 1)`` of the working box's ``rfftn`` array."""
        return (self.box, self.box, self.box // 2 + 1)


def working_box(r_hi: float) -> int:
    """Smallest even box ``M ≥ 8`` whose DFT holds the band ``|k| ≤ r_hi`` without Nyquist."""
    m = 2 * math.floor(r_hi) + 2
    return max(8, m + (m % 2))


def fourier_points(
    box: int,
    r_lo: float,
    r_hi: float,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> FourierPoints:
    """The half-space DFT samples of an ``M``-box with ``r_lo ≤ |k| ≤ r_hi`` (cycles per box).

    Requires ``r_hi < M / 2`` so that no sample touches the Nyquist planes.
    """
    if r_hi >= box / 2:
        raise ValueError(f"band edge {r_hi} must be below the working box Nyquist {box / 2}")
    full = torch.fft.fftfreq(box, d=1.0 / box, dtype=torch.float64)
    half = torch.fft.rfftfreq(box, d=1.0 / box, dtype=torch.float64)
    kz, ky, kx = torch.meshgrid(full, full, half, indexing="ij")
    k = torch.stack([kz, ky, kx], -1).reshape(-1, 3)
    r = k.norm(dim=-1)
    keep = (r >= r_lo - 1e-9) & (r <= r_hi + 1e-9)
    index = torch.nonzero(keep)[:, 0]
    kk = k[index]
    weight = torch.where(kk[:, 2] == 0, 1.0, 2.0)
    return FourierPoints(
        box=box,
        k=kk.to(dtype=dtype, device=device),
        index=index.to(device),
        weight=weight.to(dtype=dtype, device=device),
    )


def sample_rotated(
    grid: torch.Tensor,
    k: torch.Tensor,
    rotations: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Values of shifted-layout Fourier arrays at the rotated frequencies ``Rᵀk`` (trilinear).

    Parameters
    ----------
    grid : torch.Tensor, real, shape (P, C, S, S, S)
        ``C`` real channels per problem (e.g. real and imaginary parts of a padded spectrum, or
        a mask), DC at index ``S // 2``.
    k : torch.Tensor, shape (n, 3)
        Frequencies in cycles per ``N``-box (zyx).
    rotations : torch.Tensor, shape (P, B, 3, 3)
        Rotations (zyx) of the volume whose spectrum ``grid`` holds. ``grid`` may have a
        single problem (``P = 1``) shared by all rotations.
    scale : float
        Grid samples per cycle-per-box, i.e. the padding factor ``S / N``.

    Returns
    -------
    torch.Tensor, shape (P, B, C, n)
        ``grid`` at ``S // 2 + scale · Rᵀk``; zero outside the array.
    """
    p, b = rotations.shape[:2]
    if grid.shape[0] == 1 and p > 1:  # one shared spectrum, per-problem rotations
        flat = sample_rotated(grid, k, rotations.reshape(1, p * b, 3, 3), scale)
        return flat.reshape(p, b, *flat.shape[2:])
    if rotations.shape[0] == 1 and grid.shape[0] > 1:  # shared rotations
        rotations = rotations.expand(grid.shape[0], *rotations.shape[1:])
        p = grid.shape[0]
    s = grid.shape[-1]
    # grid_sample coordinates (x, y, z) ∈ [−1, 1] of S//2 + scale·Rᵀk: fold the affine map into
    # k and the column order into R, so one batched matmul gives them (row form of Rᵀk is k R).
    a = scale * 2.0 / (s - 1)
    b0 = (s // 2) * 2.0 / (s - 1) - 1.0
    coords = torch.matmul((a * k).to(rotations.dtype), rotations[..., [2, 1, 0]]) + b0
    out = F.grid_sample(
        grid, coords.to(grid.dtype)[:, :, :, None, :], mode="bilinear", padding_mode="zeros",
        align_corners=True,
    )  # (P, C, B, n, 1)
    return out[..., 0].permute(0, 2, 1, 3)
