"""In-basin training pairs and the capture range of an alignment network.

The alignment loss ``1 − r²`` only carries pose information within ~20° and ~2 voxels of the
truth (benchmarks/results/capture_range.md), so a network that starts from random relative
poses sees a flat loss. The self-supervised curriculum trains on pairs made from ONE particle
and a copy of it re-posed by a *bounded* residual pose, and widens the bound as the network's
capture range grows:

* :func:`residual_poses` draws the residuals (rotation of angle ≤ ``max_deg`` about a uniform
  axis, shift uniform in a ball of radius ``max_shift``);
* :func:`copy_pair` builds ``target = T(source)`` and the target's observed Fourier mask (the
  copy's missing wedge is the source's, rotated with it);
* :func:`capture_range` measures the largest residual rotation (and shift) the network alone
  brings back to ‖ΔR‖_F ≤ 0.3 (and ≤ 1 voxel);
* :class:`Curriculum` turns the measured capture range into the next epoch's bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from jimnet.fourier import wedge_mask
from jimnet.geometry import rotation_error_frobenius, rotvec_to_matrix
from jimnet.models import warp

#: ‖ΔR‖_F ≤ 0.3 (≈ 12.2°) counts as captured; 0.12 ≈ 4.9°.
CAPTURE_ROTATION = 0.3
#: Shift residual (voxels, Euclidean) that counts as captured.
CAPTURE_SHIFT = 1.0
#: Probes start above what doing nothing already "captures" (the identity scores
#: ‖ΔR‖_F = 2√2·sin(a/2) ≤ 0.3 up to 12.2°, and a shift error of the shift itself).
ANGLE_LADDER_DEG = (15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 150.0, 180.0)
SHIFT_LADDER_VOX = (2.0, 3.0, 4.0, 6.0, 8.0)


def _unit_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def residual_poses(n: int, max_deg: float, max_shift: float, rng: np.random.Generator, *,
                   exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Random residual poses.

    Parameters
    ----------
    n : int
    max_deg : float
        Rotation angle bound in degrees (uniform in [0, max_deg], uniform axis).
    max_shift : float
        Shift bound in voxels (uniform in the ball of that radius).
    rng : numpy.random.Generator
    exact : bool
        Angle exactly ``max_deg`` and shift length exactly ``max_shift`` (capture-range probes).

    Returns
    -------
    rotation : numpy.ndarray, shape (n, 3, 3), zyx
    shift : numpy.ndarray, shape (n, 3), voxels, zyx
    """
    angle = np.full(n, max_deg) if exact else rng.uniform(0.0, max_deg, size=n)
    omega = _unit_vectors(n, rng) * np.deg2rad(angle)[:, None]
    radius = np.full(n, max_shift) if exact else max_shift * rng.uniform(size=n) ** (1 / 3)
    shift = _unit_vectors(n, rng) * radius[:, None]
    rot = rotvec_to_matrix(torch.from_numpy(omega)).numpy()
    return rot, shift


def copy_pair(volumes: torch.Tensor, rotation: torch.Tensor, shift: torch.Tensor,
              tilts: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``target = rigid_transform(volume, R, t)`` and the target's observed mask.

    Parameters
    ----------
    volumes : torch.Tensor, shape (B, N, N, N)
    rotation, shift : torch.Tensor, shapes (B, 3, 3), (B, 3) (voxels, zyx)
    tilts : (tilt_min, tilt_max), tensors of shape (B,), degrees — the source's tilt range

    Returns
    -------
    target : torch.Tensor, shape (B, N, N, N)
    observed : torch.Tensor, shape (B, N, N, N)
        0/1 observed-region mask of the target (the source's wedge rotated by ``R``), unshifted
        FFT layout.
    """
    r = rotation.to(volumes)
    target = warp(volumes, r, shift.to(volumes))
    observed = wedge_mask(tuple(volumes.shape[-3:]), *tilts, r, layout="unshifted",
                          dtype=volumes.dtype, device=volumes.device)
    return target, observed


def _pose_errors(model: nn.Module, volumes: torch.Tensor, rot: np.ndarray, shift: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        target = warp(volumes, torch.from_numpy(rot).to(volumes),
                      torch.from_numpy(shift).to(volumes))
        out = model(volumes, target)
    pred_r, pred_t = out.pose_numpy()
    return rotation_error_frobenius(rot, pred_r), np.linalg.norm(pred_t - shift, axis=1)


@dataclass
class CaptureRange:
    """Largest residual the network alone brings back within tolerance (0 = none), and the
    mean errors per probe (the curve)."""

    rotation_deg: float
    shift_vox: float
    rotation_curve: dict[str, float]
    shift_curve: dict[str, float]

    def to_dict(self) -> dict:
        return asdict(self)


def _largest_captured(ladder: Sequence[float], errors: Sequence[float], tol: float) -> float:
    best = 0.0
    for value, err in zip(ladder, errors, strict=True):
        if err > tol:
            break
        best = value
    return best


def capture_range(model: nn.Module, volumes: torch.Tensor, *, seed: int = 0,
                  angles_deg: Sequence[float] = ANGLE_LADDER_DEG,
                  shifts_vox: Sequence[float] = SHIFT_LADDER_VOX,
                  batch_size: int = 16) -> CaptureRange:
    """Capture range of ``model`` on copies of ``volumes`` (eval mode, no gradient).

    For each ladder value ``a`` every volume is paired with its copy rotated by exactly ``a``
    degrees about a random axis (no shift); the rotation capture range is the largest ``a``
    such that the mean ‖ΔR‖_F is ≤ :data:`CAPTURE_ROTATION` for it and every smaller value.
    The shift counterpart uses pure shifts of exact length and :data:`CAPTURE_SHIFT`.

    Parameters
    ----------
    model : alignment network (``forward(source, target)`` → AlignmentOutput)
    volumes : torch.Tensor, shape (n, N, N, N), normalised, on the model's device
    seed : int
    angles_deg, shifts_vox : ladders, increasing
    batch_size : int
    """
    was_training = model.training
    model.eval()
    rng = np.random.default_rng(seed)
    n = len(volumes)
    rot_curve, shift_curve = {}, {}
    try:
        for label, ladder, curve in (("rot", angles_deg, rot_curve),
                                     ("shift", shifts_vox, shift_curve)):
            for value in ladder:
                if label == "rot":
                    rot, _ = residual_poses(n, value, 0.0, rng, exact=True)
                    shift = np.zeros((n, 3))
                else:
                    _, shift = residual_poses(n, 0.0, value, rng, exact=True)
                    rot = np.tile(np.eye(3), (n, 1, 1))
                errs = []
                for s in range(0, n, batch_size):
                    r_err, t_err = _pose_errors(model, volumes[s:s + batch_size],
                                                rot[s:s + batch_size], shift[s:s + batch_size])
                    errs.append(r_err if label == "rot" else t_err)
                curve[f"{value:g}"] = float(np.concatenate(errs).mean())
    finally:
        model.train(was_training)
    return CaptureRange(
        _largest_captured(angles_deg, list(rot_curve.values()), CAPTURE_ROTATION),
        _largest_captured(shifts_vox, list(shift_curve.values()), CAPTURE_SHIFT),
        rot_curve, shift_curve)


@dataclass
class Curriculum:
    """Bound of the training residual, widened from the measured capture range.

    ``update`` sets the bound to ``growth ×`` the capture range, never below the start values
    nor above 180° / ``shift_limit``.
    """

    max_deg: float = 20.0
    max_shift: float = 2.0
    start_deg: float = 20.0
    start_shift: float = 2.0
    growth: float = 1.5
    shift_limit: float = 8.0

    def update(self, capture: CaptureRange) -> None:
        self.max_deg = float(min(180.0, max(self.start_deg, self.growth * capture.rotation_deg)))
        self.max_shift = float(min(self.shift_limit,
                                   max(self.start_shift, self.growth * capture.shift_vox)))
