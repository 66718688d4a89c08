"""Fourier cropping / zero-padding of cubic volumes to another box (band-limited resampling).

A volume of ``N³`` voxels of size ``a`` Å resampled to ``M³`` keeps its physical extent: the new
voxel size is ``a · N / M`` (:func:`resampled_voxel_size`). Downsampling (``M < N``) drops the
frequencies beyond the new Nyquist limit, so it needs no separate anti-aliasing filter;
upsampling (``M > N``) interpolates with the periodic sinc kernel.

Each axis is resampled as :func:`scipy.signal.resample` does (the unpaired Nyquist bin of an even
length is merged on the way down and split on the way up), and values are kept (a constant stays
the same constant). The box centre follows jimnet's convention (voxel ``N // 2``, see
:mod:`jimnet.geometry.pose`): when ``N`` or ``M`` is odd the plain crop would move the old centre
off voxel ``M // 2`` by a fraction of a voxel, which a Fourier shift puts back, so poses given
about the centre keep their meaning (shifts scale by ``M / N``).
"""

from __future__ import annotations

import torch

from jimnet.fourier.shift import fourier_shift

__all__ = ["fourier_resample", "resampled_voxel_size"]


def resampled_voxel_size(voxel_size: float, box: int, new_box: int) -> float:
    """Voxel size (Å) of a ``box³`` volume of ``voxel_size`` Å resampled to ``new_box³``."""
    return float(voxel_size) * int(box) / int(new_box)


def _resample_axis(x: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Fourier-resample real ``x`` along ``dim`` to ``size`` samples (scipy.signal.resample)."""
    n = x.shape[dim]
    m = min(n, size)
    spectrum = torch.fft.rfft(x, dim=dim).narrow(dim, 0, m // 2 + 1)
    if m % 2 == 0 and size != n:  # the unpaired Nyquist bin at m // 2
        scale = torch.ones(m // 2 + 1, dtype=x.dtype, device=x.device)
        scale[m // 2] = 2.0 if size < n else 0.5
        shape = [1] * x.ndim
        shape[dim] = -1
        spectrum = spectrum * scale.reshape(shape)
    return torch.fft.irfft(spectrum, n=size, dim=dim) * (size / n)


def fourier_resample(volume: torch.Tensor, size: int) -> torch.Tensor:
    """Resample real cubic volumes to ``size³`` by Fourier cropping or zero-padding.

    Parameters
    ----------
    volume : torch.Tensor, shape (..., N, N, N)
        Real volumes, zyx.
    size : int
        New box edge ``M ≥ 1`` in voxels.

    Returns
    -------
    torch.Tensor, shape (..., M, M, M)
        Same dtype as ``volume``. Sample ``j`` lies at old voxel coordinate
        ``N//2 + (j − M//2) · N / M``: voxel ``M // 2`` is the old box centre.
        ``volume`` itself is returned when ``M == N``.
    """
    if volume.is_complex():
        raise ValueError("fourier_resample expects real volumes")
    if volume.ndim < 3 or len(set(volume.shape[-3:])) != 1:
        raise ValueError(f"expected cubic volumes (..., N, N, N), got {tuple(volume.shape)}")
    n, size = volume.shape[-1], int(size)
    if size < 1:
        raise ValueError(f"box size must be ≥ 1, got {size}")
    if size == n:
        return volume
    out = volume
    for dim in (-3, -2, -1):
        out = _resample_axis(out, size, dim)
    # Sample j sits at old coordinate j·N/M, so the old centre N//2 lands at (N//2)·M/N.
    offset = size // 2 - (n // 2) * size / n
    if offset != 0.0:
        out = fourier_shift(out, torch.full((3,), offset, dtype=out.dtype))
    return out
