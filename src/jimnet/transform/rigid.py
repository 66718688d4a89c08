"""Rigid rotate+shift of volumes by a pose (trilinear, zeros outside), batched and differentiable.

This is the only place that turns a pose into resampled voxels; see
:mod:`jimnet.geometry.pose` for the meaning of ``(R, t)``.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F


def _as_tensor(x, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def pose_sampling_grid(
    shape: tuple[int, int, int],
    rotation: torch.Tensor,
    shift: torch.Tensor,
) -> torch.Tensor:
    """Where each output voxel samples its input, for ``output(x) = input(Rᵀ(x − c − t) + c)``.

    Parameters
    ----------
    shape : (D, H, W)
        Volume shape; the centre is ``c = (D//2, H//2, W//2)``.
    rotation : torch.Tensor, shape (B, 3, 3)
        Rotations acting on zyx column vectors.
    shift : torch.Tensor, shape (B, 3)
        Shifts in voxels, zyx.

    Returns
    -------
    torch.Tensor, shape (B, D, H, W, 3)
        Sampling positions in ``grid_sample``'s normalised ``align_corners=True`` coordinates,
        last axis ordered (x, y, z) as ``grid_sample`` expects.
    """
    dtype, device = rotation.dtype, rotation.device
    sizes = torch.tensor(shape, dtype=dtype, device=device)
    centre = torch.div(sizes, 2, rounding_mode="floor")
    axes = [torch.arange(n, dtype=dtype, device=device) for n in shape]
    voxels = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)  # (D, H, W, 3) zyx
    rel = voxels[None] - centre - shift[:, None, None, None, :]  # (B, D, H, W, 3)
    # Row-vector form of Rᵀ v is v @ R (bmm is ~2× faster than the equivalent einsum here).
    batch = rel.shape[0]
    src = torch.bmm(rel.reshape(batch, -1, 3), rotation).reshape(rel.shape) + centre
    normalised = 2.0 * src / (sizes - 1.0) - 1.0
    return normalised.flip(-1)


def rigid_transform(
    volume: torch.Tensor,
    rotation: torch.Tensor,
    shift: torch.Tensor | None = None,
    *,
    mode: Literal["bilinear", "nearest"] = "bilinear",
) -> torch.Tensor:
    """Rotate by ``R`` about the box centre ``N//2``, then shift by ``t`` (zeros outside).

    ``output(x) = volume(Rᵀ(x − c − t) + c)``: applying a pose to a reference gives the particle;
    applying :func:`jimnet.geometry.invert_pose` of it to the particle gives back the reference.

    Parameters
    ----------
    volume : torch.Tensor, shape (B, D, H, W) or (D, H, W)
        Real volumes, zyx.
    rotation : torch.Tensor or array_like, shape (B, 3, 3) or (3, 3)
        Rotations acting on zyx vectors; a single one is broadcast over the batch.
    shift : torch.Tensor or array_like, shape (B, 3) or (3,), optional
        Shifts in voxels, zyx. Default zero.
    mode : {"bilinear", "nearest"}
        Interpolation ("bilinear" is trilinear in 3D).

    Returns
    -------
    torch.Tensor
        Same shape as ``volume``. Differentiable with respect to all tensor inputs.
    """
    unbatched = volume.ndim == 3
    vol = volume[None] if unbatched else volume
    if vol.ndim != 4:
        raise ValueError(f"volume must be (B, D, H, W) or (D, H, W), got {tuple(volume.shape)}")
    batch = vol.shape[0]
    rot = _as_tensor(rotation, vol)
    rot = rot.expand(batch, 3, 3) if rot.ndim == 2 else rot
    t = vol.new_zeros(3) if shift is None else _as_tensor(shift, vol)
    t = t.expand(batch, 3) if t.ndim == 1 else t
    grid = pose_sampling_grid(tuple(vol.shape[-3:]), rot, t)
    out = F.grid_sample(vol[:, None], grid, mode=mode, padding_mode="zeros", align_corners=True)
    out = out[:, 0]
    return out[0] if unbatched else out
