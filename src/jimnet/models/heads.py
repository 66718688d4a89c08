"""Rigid-pose regression heads and the ONE conversion from network outputs to jimnet poses.

Two parameterisations (``rotation_param``):

``"axis_angle"`` (default of the models): the head outputs raw values ``(v, u) ∈ R³ × R³``;

* rotation vector ``ω = π·tanh(|v|)·v/|v|`` (zyx, radians;
  :func:`jimnet.geometry.rotvec_to_matrix`), so the angle is bounded by π and the whole of
  SO(3) is reachable with no gimbal lock at the identity (the Jacobian of ``R`` w.r.t. ``v``
  at 0 has rank 3);
* shift ``t = max_shift·tanh(u)`` voxels (zyx), ``max_shift = N/4`` by default, so the source
  cannot be pushed out of the box by one stage;
* ``(v, u) = 0`` is the identity.

``"euler"`` (Gum-Net, the paper-faithful option): ``p ∈ (0, 1)^6`` through a sigmoid:

* Euler angles (AITom ZYZ, radians): ``(φ, θ, ψ) = 2π·p[0:3] − π``, and
  ``R = Rz(φ) Ry(θ) Rz(ψ)`` on array axes — directly jimnet's zyx pose matrix
  (:func:`jimnet.geometry.aitom_euler_to_matrix`);
* normalised shift ``τ = 2·p[3:6] − 1 ∈ (−1, 1)^3`` (array-axis order = zyx), read in voxels as
  ``t = τ·N/2`` per axis (Gum-Net's evaluation convention; ±16 voxels for ``N = 32``), or
  ``τ·max_shift`` when a bound is given.

At the identity (``p = 0.5``) the ZYZ map has a rank-2 Jacobian (rotations about x are
unreachable to first order); sigmoid outputs near 0 or 1 have no gradient (a "dead" network).

``(R, t)`` is a jimnet pose (:mod:`jimnet.geometry.pose`): warping the source by it
(:func:`jimnet.transform.rigid_transform`) should reproduce the target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from jimnet.geometry import (
    aitom_euler_to_matrix,
    matrix_to_aitom_euler,
    matrix_to_rotvec,
    rotvec_to_matrix,
)

HeadInit = Literal["gumnet", "identity", "default"]
RotationParam = Literal["euler", "axis_angle"]
ROTATION_PARAMS = ("euler", "axis_angle")
#: A bounded output counts as saturated beyond this fraction of its range (gradient ≤ 2 % left).
SATURATION_LEVEL = 0.99


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


def _check_param(rotation_param: str) -> None:
    if rotation_param not in ROTATION_PARAMS:
        raise ValueError(f"rotation_param must be one of {ROTATION_PARAMS}, got {rotation_param!r}")


def shift_bound(shape: Sequence[int], rotation_param: RotationParam = "euler",
                max_shift: float | None = None) -> np.ndarray:
    """Largest shift (voxels, per zyx axis) one stage can output: ``max_shift`` if given, else
    ``N/2`` (euler, Gum-Net) or ``N/4`` (axis_angle)."""
    _check_param(rotation_param)
    if max_shift is not None:
        if max_shift <= 0:
            raise ValueError(f"max_shift must be > 0, got {max_shift}")
        return np.full(3, float(max_shift))
    return np.asarray(shape, dtype=np.float64) / (2.0 if rotation_param == "euler" else 4.0)


def _rotvec_from_raw(v: torch.Tensor) -> torch.Tensor:
    """``ω = π·tanh(|v|)·v/|v|`` (the scale tends to π as ``|v| → 0``)."""
    n2 = (v * v).sum(-1, keepdim=True)
    small = n2 < 1e-8
    n = torch.sqrt(torch.where(small, torch.ones_like(n2), n2))
    scale = torch.where(small, math.pi * (1.0 - n2 / 3.0), math.pi * torch.tanh(n) / n)
    return v * scale


def params_to_pose(params: torch.Tensor, shape: Sequence[int],
                   rotation_param: RotationParam = "euler", max_shift: float | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Network outputs → jimnet pose. Differentiable.

    Parameters
    ----------
    params : torch.Tensor, shape (B, 6)
        Head outputs: sigmoid values in (0, 1) (``"euler"``) or raw values (``"axis_angle"``);
        three rotation parameters, then three shift parameters.
    shape : (D, H, W)
        Volume shape, for the voxel scale of the shift.
    rotation_param : {"euler", "axis_angle"}
    max_shift : float, optional
        Shift bound in voxels (default :func:`shift_bound`).

    Returns
    -------
    rotation : torch.Tensor, shape (B, 3, 3)
        zyx rotation matrix.
    shift : torch.Tensor, shape (B, 3)
        zyx shift in voxels.
    """
    if params.shape[-1] != 6:
        raise ValueError(f"params must have 6 entries on the last axis, got {tuple(params.shape)}")
    bound = torch.as_tensor(shift_bound(shape, rotation_param, max_shift), dtype=params.dtype,
                            device=params.device)
    if rotation_param == "euler":
        rotation = aitom_euler_to_matrix(params_to_angles(params))
        return rotation, params_to_normalised_shift(params) * bound
    rotation = rotvec_to_matrix(_rotvec_from_raw(params[..., 0:3]))
    return rotation, torch.tanh(params[..., 3:6]) * bound


def pose_to_params(rotation: ArrayLike | torch.Tensor, shift: ArrayLike | torch.Tensor,
                   shape: Sequence[int], rotation_param: RotationParam = "euler",
                   max_shift: float | None = None) -> np.ndarray:
    """Inverse of :func:`params_to_pose` (numpy, float64; for targets, tests and initialisation).

    Euler: angles from :func:`jimnet.geometry.matrix_to_aitom_euler` (φ, ψ ∈ (−π, π],
    θ ∈ [0, π]). Axis-angle: rotations of exactly π have no finite preimage. Shifts must lie
    strictly within the bound (:func:`shift_bound`; euler: within it).

    Returns
    -------
    numpy.ndarray, shape (..., 6)
        Parameters whose :func:`params_to_pose` is ``(rotation, shift)``.
    """
    rot = np.asarray(rotation.detach().cpu() if isinstance(rotation, torch.Tensor) else rotation,
                     dtype=np.float64)
    t = np.asarray(shift.detach().cpu() if isinstance(shift, torch.Tensor) else shift,
                   dtype=np.float64)
    bound = shift_bound(shape, rotation_param, max_shift)
    if rotation_param == "euler":
        angles = matrix_to_aitom_euler(rot)
        return np.concatenate([(angles + np.pi) / (2 * np.pi), (t / bound + 1.0) / 2.0], axis=-1)
    omega = matrix_to_rotvec(rot)
    angle = np.linalg.norm(omega, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(angle > 1e-12, np.arctanh(angle / np.pi) / np.maximum(angle, 1e-300),
                         1.0 / np.pi)
    return np.concatenate([omega * scale, np.arctanh(t / bound)], axis=-1)


def raw_outputs(params: torch.Tensor, rotation_param: RotationParam = "euler") -> torch.Tensor:
    """The pre-activations behind each bounded output, matching :func:`saturation`:
    ``logit(p)`` (euler, (B, 6)) or ``(|v|, u)`` (axis_angle, (B, 4)). Differentiable; what
    :func:`jimnet.losses.saturation_guard` bounds."""
    _check_param(rotation_param)
    if rotation_param == "euler":
        p = params.clamp(1e-7, 1 - 1e-7)
        return torch.log(p) - torch.log1p(-p)
    norm = torch.sqrt((params[..., 0:3] ** 2).sum(-1, keepdim=True) + 1e-12)
    return torch.cat([norm, params[..., 3:6]], dim=-1)


def saturation(params: torch.Tensor, rotation_param: RotationParam = "euler") -> torch.Tensor:
    """How close each bounded output is to its bound, in [0, 1] (1 = at the bound, no gradient).

    Euler: ``|2p − 1|`` for the six sigmoids. Axis-angle: ``tanh|v|`` (the angle over π) and
    ``|tanh u|`` for the three shifts.

    Returns
    -------
    torch.Tensor, shape (B, 6) (euler) or (B, 4) (axis_angle)
    """
    _check_param(rotation_param)
    p = params.detach()
    if rotation_param == "euler":
        return (2.0 * p - 1.0).abs()
    return torch.cat([torch.tanh(p[..., 0:3].norm(dim=-1, keepdim=True)),
                      torch.tanh(p[..., 3:6]).abs()], dim=-1)


class RigidParamHead(nn.Module):
    """Last layer of a pose regressor: ``Linear(in_features, 6)``, then a sigmoid for
    ``rotation_param="euler"`` (raw values for ``"axis_angle"``; bounded by
    :func:`params_to_pose`).

    Parameters
    ----------
    in_features : int
        Input width.
    init : {"gumnet", "identity", "default"}
        ``"gumnet"``: weights 0 and biases ~ U[−0.5, 0.5) (Gum-Net ``get_initial_weights``; starts
        near the identity with a random pose per model). ``"identity"``: weights and biases 0, so
        the initial output is exactly the identity pose for every input (``p = 0.5`` or 0).
        ``"default"``: PyTorch's default ``Linear`` initialisation.
    rotation_param : {"euler", "axis_angle"}

    Shapes
    ------
    (B, in_features) → (B, 6), in (0, 1) for euler.
    """

    def __init__(self, in_features: int, init: HeadInit = "gumnet",
                 rotation_param: RotationParam = "euler") -> None:
        super().__init__()
        if init not in ("gumnet", "identity", "default"):
            raise ValueError(f"init must be 'gumnet', 'identity' or 'default', got {init!r}")
        _check_param(rotation_param)
        self.init = init
        self.rotation_param = rotation_param
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
        y = self.linear(x)
        return torch.sigmoid(y) if self.rotation_param == "euler" else y
