"""Sub-voxel translation of volumes by a Fourier phase ramp (periodic, batched, differentiable).

Same sign as :func:`jimnet.transform.rigid_transform`: the content moves by ``+t``,
``output(x) = input(x − t)`` with periodic wrap-around. In Fourier space this is multiplication
by ``exp(−2πi k·t)`` (``k`` in cycles/voxel, ``t`` in voxels, zyx).

For an even-length axis the Nyquist sample ``k = −1/2`` is its own mirror image, so its factor
``exp(iπ t)`` would break the Hermitian symmetry of a real signal. It is replaced by its real
part ``cos(π t)`` (the Nyquist term split equally between ``±1/2``): real input stays real, and
integer shifts (where ``cos(π t) = (−1)^t``) reproduce ``torch.roll`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from jimnet.fourier.grids import Layout, fourier_shape, frequency_axes


def shift_phase(
    shape: Sequence[int],
    shift: torch.Tensor,
    layout: Layout = "rfft",
) -> torch.Tensor:
    """Complex multiplier ``exp(−2πi k·t)`` that translates content by ``+t`` (Nyquist: real).

    Parameters
    ----------
    shape : sequence of int
        Real-space shape, e.g. ``(D, H, W)`` (any number of dims).
    shift : torch.Tensor, shape (..., len(shape))
        Shifts in voxels, array-axis (zyx) order; real floating point.
    layout : {"shifted", "unshifted", "rfft"}
        Layout of the Fourier array it will multiply (:mod:`jimnet.fourier.grids`).

    Returns
    -------
    torch.Tensor, complex, shape (..., *fourier_shape(shape, layout))
        Differentiable with respect to ``shift``.
    """
    ndim = len(shape)
    if shift.shape[-1:] != (ndim,):
        raise ValueError(f"shift must have shape (..., {ndim}), got {tuple(shift.shape)}")
    if not shift.is_floating_point():
        shift = shift.to(torch.get_default_dtype())
    axes = frequency_axes(shape, layout, dtype=shift.dtype, device=shift.device)
    batch = shift.shape[:-1]
    phase = None
    for i, (n, k) in enumerate(zip(shape, axes, strict=True)):
        t = shift[..., i].reshape(*batch, *([1] * ndim))
        angle = -2.0 * torch.pi * k * t
        cos, sin = torch.cos(angle), torch.sin(angle)
        if n % 2 == 0:
            nyquist = (k.abs() == 0.5).expand_as(sin)
            sin = torch.where(nyquist, torch.zeros_like(sin), sin)
        factor = torch.complex(cos, sin)
        phase = factor if phase is None else phase * factor
    return phase.expand(*batch, *fourier_shape(shape, layout))


def fourier_shift(volume: torch.Tensor, shift: torch.Tensor, ndim: int = 3) -> torch.Tensor:
    """Translate real volumes by sub-voxel shifts, periodically: ``output(x) = volume(x − t)``.

    Parameters
    ----------
    volume : torch.Tensor, shape (..., D, H, W)
        Real volumes (the last ``ndim`` axes are transformed).
    shift : torch.Tensor or array_like, shape (..., ndim)
        Shifts in voxels, zyx; leading dims broadcast against ``volume``'s.
    ndim : int
        Number of trailing spatial axes (3 for volumes, 2 for images).

    Returns
    -------
    torch.Tensor, real, shape broadcast(volume.shape[:-ndim], shift.shape[:-1]) + spatial
        Differentiable with respect to ``volume`` and ``shift``. Integer shifts equal
        ``torch.roll(volume, shift, dims)``.
    """
    if volume.is_complex():
        raise ValueError("fourier_shift expects a real volume")
    shift = torch.as_tensor(shift, device=volume.device)
    shift = shift.to(volume.dtype if volume.is_floating_point() else torch.get_default_dtype())
    spatial = tuple(volume.shape[-ndim:])
    dims = tuple(range(-ndim, 0))
    spectrum = torch.fft.rfftn(volume, dim=dims)
    shifted = spectrum * shift_phase(spatial, shift, layout="rfft")
    return torch.fft.irfftn(shifted, s=spatial, dim=dims)
