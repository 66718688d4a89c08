"""Rigid-pose regression heads and the ONE conversion from network outputs to jimnet poses.

The network predicts ``p ∈ (0, 1)^6`` through a sigmoid (Gum-Net parameterisation):

* Euler angles (AITom ZYZ, radians): ``(φ, θ, ψ) = 2π·p[0:3] − π``, and
  ``R = Rz(φ) Ry(θ) Rz(ψ)`` on array axes — directly jimnet's zyx pose matrix
  (:func:`jimnet.geometry.aitom_euler_to_matrix`);
* normalised shift ``τ = 2·p[3:6] − 1 ∈ (−1, 1)^3`` (array-axis order = zyx), read in voxels as
  ``t = τ·N/2`` per axis (Gum-Net's evaluation convention; ±16 voxels for ``N = 32``).

``(R, t)`` is a jimnet pose (:mod:`jimnet.geometry.pose`): warping the source by it
(:func:`jimnet.transform.rigid_transform`) should reproduce the target. ``p = 0.5`` is the identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from jimnet.geometry import aitom_euler_to_matrix, matrix_to_aitom_euler

HeadInit = Literal["gumnet", "identity", "default"]


def _half_sizes(shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
    if len(shape) != 3:
        raise ValueError(f"shape must be (D, H, W), got {tuple(shape)}")
    return torch.tensor([n / 2.0 for n in shape], dtype=like.dtype, device=like.device)


def params_to_angles(params: torch.Tensor) -> torch.Tensor:
    """Sigmoid outputs (B, 6) → AITom ZYZ angles ``(φ, θ, ψ)`` in radians, shape (B, 3)."""
    return 2.0 * math.pi * params[..., 0:3] - math.pi


def params_to_normalised_shift(params: torch.Tensor) -> torch.Tensor:
    """Sigmoid outputs (B, 6) → normalised shift ``τ = 2p − 1`` (zyx, units of N/2), (B, 3)."""
    return 2.0 * params[..., 3:6] - 1.0


def normalised_to_voxel_shift(tau: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """``τ`` (units of half the box) → voxels, ``t = τ·N/2`` per axis. Shape (..., 3)."""
    return tau * _half_sizes(shape, tau)


def voxel_to_normalised_shift(shift: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Voxels → ``τ = t / (N/2)`` per axis (the unit-ball coordinates used by L_R/L_A)."""
    return shift / _half_sizes(shape, shift)


def params_to_pose(params: torch.Tensor, shape: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Network outputs → jimnet pose. Differentiable.

    Parameters
    ----------
    params : torch.Tensor, shape (B, 6)
        Sigmoid outputs in (0, 1): three angle parameters then three shift parameters.
    shape : (D, H, W)
        Volume shape, for the voxel scale of the shift.

    Returns
    -------
    rotation : torch.Tensor, shape (B, 3, 3)
        zyx rotation matrix ``Rz(φ) Ry(θ) Rz(ψ)``.
    shift : torch.Tensor, shape (B, 3)
        zyx shift in voxels, ``τ·N/2``.
    """
    if params.shape[-1] != 6:
        raise ValueError(f"params must have 6 entries on the last axis, got {tuple(params.shape)}")
    rotation = aitom_euler_to_matrix(params_to_angles(params))
    shift = normalised_to_voxel_shift(params_to_normalised_shift(params), shape)
    return rotation, shift


def pose_to_params(rotation: ArrayLike | torch.Tensor, shift: ArrayLike | torch.Tensor,
                   shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`params_to_pose` (numpy, float64; for targets, tests and initialisation).

    Angles come from :func:`jimnet.geometry.matrix_to_aitom_euler` (φ, ψ ∈ (−π, π], θ ∈ [0, π]);
    shifts must lie within ±N/2 voxels.

    Returns
    -------
    numpy.ndarray, shape (..., 6)
        Parameters in [0, 1] whose :func:`params_to_pose` is ``(rotation, shift)``.
    """
    rot = np.asarray(rotation.detach().cpu() if isinstance(rotation, torch.Tensor) else rotation,
                     dtype=np.float64)
    t = np.asarray(shift.detach().cpu() if isinstance(shift, torch.Tensor) else shift,
                   dtype=np.float64)
    angles = matrix_to_aitom_euler(rot)
    half = np.asarray(shape, dtype=np.float64) / 2.0
    return np.concatenate([(angles + np.pi) / (2 * np.pi), (t / half + 1.0) / 2.0], axis=-1)


class RigidParamHead(nn.Module):
    """Last layer of a pose regressor: ``Linear(in_features, 6)`` → sigmoid.

    Parameters
    ----------
    in_features : int
        Input width.
    init : {"gumnet", "identity", "default"}
        ``"gumnet"``: weights 0 and biases ~ U[−0.5, 0.5) (Gum-Net ``get_initial_weights``; starts
        near the identity with a random pose per model). ``"identity"``: weights and biases 0, so
        the initial output is exactly ``p = 0.5`` (identity pose) for every input.
        ``"default"``: PyTorch's default ``Linear`` initialisation.

    Shapes
    ------
    (B, in_features) → (B, 6) in (0, 1).
    """

    def __init__(self, in_features: int, init: HeadInit = "gumnet") -> None:
        super().__init__()
        if init not in ("gumnet", "identity", "default"):
            raise ValueError(f"init must be 'gumnet', 'identity' or 'default', got {init!r}")
        self.init = init
        self.linear = nn.Linear(in_features, 6)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-apply the chosen initialisation."""
        if self.init == "default":
            self.linear.reset_parameters()
            return
        with torch.no_grad():
            self.linear.weight.zero_()
            if self.init == "gumnet":
                self.linear.bias.uniform_(-0.5, 0.5)
            else:
                self.linear.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(x))
