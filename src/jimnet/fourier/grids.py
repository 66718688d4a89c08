"""Discrete Fourier frequency grids in cycles/voxel, in the three layouts jimnet uses.

Frequencies are in **cycles per voxel** (Nyquist = 0.5); divide by the voxel size in nm to get
nm⁻¹. Axes are in array order, so for a volume ``(D, H, W)`` the components are ``(k_z, k_y, k_x)``.

Layouts of a Fourier array for a real box of shape ``shape``:

``"shifted"``
    ``torch.fft.fftshift`` order on every axis: the DC term sits at index ``N // 2``, the same
    index as the real-space box centre (CONVENTIONS.md §1.2). Shape ``shape``.
``"unshifted"``
    ``torch.fft.fftn`` / ``torch.fft.fftfreq`` order: DC at index 0. Shape ``shape``.
``"rfft"``
    ``torch.fft.rfftn`` order: unshifted on all axes but the last, which holds only the first
    ``W // 2 + 1`` samples. Shape ``(..., W // 2 + 1)``.

Moving between the full layouts is ``torch.fft.fftshift`` / ``torch.fft.ifftshift`` over the
last ``len(shape)`` dims; ``rfft`` is exactly ``unshifted[..., : W // 2 + 1]``. For even ``W``
this means the last-axis Nyquist sample is labelled ``k_x = −1/2`` (as ``fftfreq``), not ``+1/2``
(as ``torch.fft.rfftfreq``): the two are the same DFT sample, and the choice keeps every
grid-based quantity (e.g. an asymmetric wedge mask) identical across layouts. ``|k|`` is
unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch

Layout = Literal["shifted", "unshifted", "rfft"]
LAYOUTS: tuple[str, ...] = get_args(Layout)


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def fourier_shape(shape: Sequence[int], layout: Layout = "shifted") -> tuple[int, ...]:
    """Shape of the Fourier array of a real box ``shape`` in ``layout``.

    Parameters
    ----------
    shape : sequence of int
        Real-space shape, e.g. ``(D, H, W)`` or ``(H, W)``.
    layout : {"shifted", "unshifted", "rfft"}

    Returns
    -------
    tuple of int
        ``shape``, or ``(*shape[:-1], shape[-1] // 2 + 1)`` for ``"rfft"``.
    """
    _check_layout(layout)
    shape = tuple(int(n) for n in shape)
    if layout == "rfft":
        return (*shape[:-1], shape[-1] // 2 + 1)
    return shape


def frequency_axes(
    shape: Sequence[int],
    layout: Layout = "shifted",
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, ...]:
    """Per-axis frequencies in cycles/voxel, shaped to broadcast against each other.

    Parameters
    ----------
    shape : sequence of int
        Real-space shape ``(D, H, W)`` (any number of dims ≥ 1).
    layout : {"shifted", "unshifted", "rfft"}
    dtype, device
        Of the result (default: torch's default float dtype, CPU).

    Returns
    -------
    tuple of torch.Tensor
        One tensor per axis; tensor ``i`` has shape 1 everywhere except on axis ``i``, where it
        has length ``fourier_shape(shape, layout)[i]``. For ``(D, H, W)``: ``k_z`` of shape
        ``(D, 1, 1)``, ``k_y`` of shape ``(1, H, 1)``, ``k_x`` of shape ``(1, 1, W')``.
    """
    _check_layout(layout)
    dtype = dtype or torch.get_default_dtype()
    ndim = len(shape)
    out = []
    for i, n in enumerate(shape):
        k = torch.fft.fftfreq(int(n), dtype=dtype, device=device)
        if layout == "shifted":
            k = torch.fft.fftshift(k)
        elif layout == "rfft" and i == ndim - 1:
            k = k[: int(n) // 2 + 1]
        view = [1] * ndim
        view[i] = k.numel()
        out.append(k.reshape(view))
    return tuple(out)


def frequency_grid(
    shape: Sequence[int],
    layout: Layout = "shifted",
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Frequency vector of every Fourier sample, in cycles/voxel, array-axis (zyx) order.

    Parameters
    ----------
    shape : sequence of int
        Real-space shape, e.g. ``(D, H, W)``.
    layout : {"shifted", "unshifted", "rfft"}
    dtype, device
        Of the result.

    Returns
    -------
    torch.Tensor, shape (*fourier_shape(shape, layout), len(shape))
        For a volume the last axis is ``(k_z, k_y, k_x)``.
    """
    axes = frequency_axes(shape, layout, dtype=dtype, device=device)
    full = fourier_shape(shape, layout)
    return torch.stack([a.expand(full) for a in axes], dim=-1)


def frequency_magnitude(
    shape: Sequence[int],
    layout: Layout = "shifted",
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``|k|`` in cycles/voxel for every Fourier sample.

    Returns
    -------
    torch.Tensor, shape fourier_shape(shape, layout)
    """
    axes = frequency_axes(shape, layout, dtype=dtype, device=device)
    sq = axes[0] ** 2
    for a in axes[1:]:
        sq = sq + a**2
    return sq.sqrt()


def sphere_mask(
    shape: Sequence[int],
    radius: float = 0.5,
    layout: Layout = "shifted",
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Hard Fourier sphere ``|k| ≤ radius`` (cycles/voxel; 0.5 = radius N/2 voxels on a cube).

    Returns
    -------
    torch.Tensor, shape fourier_shape(shape, layout)
        1.0 inside (boundary included), 0.0 outside.
    """
    dtype = dtype or torch.get_default_dtype()
    mag = frequency_magnitude(shape, layout, dtype=torch.float64, device=device)
    return (mag <= radius * (1.0 + 1e-12)).to(dtype)
