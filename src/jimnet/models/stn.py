"""Differentiable 3D rigid spatial transformer built on :func:`jimnet.transform.rigid_transform`.

There is no second sampling-grid implementation here: the STN turns the regressed parameters into a
jimnet pose with :func:`jimnet.models.heads.params_to_pose` and warps with the foundation's pose
function (trilinear, zeros outside, rotation about voxel ``N//2``).
"""

from __future__ import annotations

import torch
from torch import nn

from jimnet.models.heads import params_to_pose
from jimnet.transform import rigid_transform


def warp(volume: torch.Tensor, rotation: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Warp single- or multi-channel volumes by a batch of poses.

    Parameters
    ----------
    volume : torch.Tensor, shape (B, D, H, W) or (B, C, D, H, W)
        Volumes, zyx. With channels, every channel gets its sample's pose.
    rotation : torch.Tensor, shape (B, 3, 3)
        zyx rotations.
    shift : torch.Tensor, shape (B, 3)
        zyx shifts in voxels.

    Returns
    -------
    torch.Tensor
        Same shape as ``volume``: ``out(x) = volume(Rᵀ(x − c − t) + c)``, ``c = N//2``.
    """
    if volume.ndim == 4:
        return rigid_transform(volume, rotation, shift)
    if volume.ndim != 5:
        raise ValueError(
            f"volume must be (B, D, H, W) or (B, C, D, H, W), got {tuple(volume.shape)}")
    b, c = volume.shape[:2]
    flat = volume.reshape(b * c, *volume.shape[2:])
    out = rigid_transform(flat, rotation.repeat_interleave(c, dim=0),
                          shift.repeat_interleave(c, dim=0))
    return out.reshape(volume.shape)


class RigidSTN3d(nn.Module):
    """Spatial transformer: sigmoid parameters (B, 6) → pose → warped volume.

    ``forward(volume, params)`` returns ``(warped, rotation, shift)`` with ``warped`` shaped like
    ``volume`` ((B, D, H, W) or (B, C, D, H, W)), ``rotation`` (B, 3, 3) and ``shift`` (B, 3) in
    voxels (``τ·N/2``).
    """

    def forward(self, volume: torch.Tensor, params: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rotation, shift = params_to_pose(params, tuple(volume.shape[-3:]))
        return warp(volume, rotation, shift), rotation, shift
