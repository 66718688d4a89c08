"""The paper's pose-error metrics (Gum-Net ``alignment_eval``) and user-facing variants."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def rotation_error_frobenius(rot_true: ArrayLike, rot_pred: ArrayLike) -> NDArray[np.float64]:
    """Paper's rotation error ``‖R_true − R_pred‖_F`` (unitless, 0 … 2√2).

    Equal to ``2√2·|sin(ω/2)|`` with ``ω`` the geodesic angle; independent of the axis order
    (xyz or zyx), since the flip is orthogonal. Shapes (..., 3, 3) → (...).
    """
    diff = np.asarray(rot_true, dtype=np.float64) - np.asarray(rot_pred, dtype=np.float64)
    return np.sqrt(np.sum(diff**2, axis=(-2, -1)))


def geodesic_angle_deg(rot_true: ArrayLike, rot_pred: ArrayLike) -> NDArray[np.float64]:
    """Angle in degrees of the rotation ``R_trueᵀ R_pred`` (0 … 180). Shapes (..., 3, 3) → (...)."""
    a = np.asarray(rot_true, dtype=np.float64)
    b = np.asarray(rot_pred, dtype=np.float64)
    trace = np.einsum("...ji,...ji->...", a, b)
    return np.degrees(np.arccos(np.clip((trace - 1.0) / 2.0, -1.0, 1.0)))


def translation_error_voxels(
    shift_true: ArrayLike, shift_pred: ArrayLike, *, round_first: bool = True
) -> NDArray[np.float64]:
    """Translation error in voxels, ``‖round(t_true) − round(t_pred)‖₂`` as in the paper.

    Parameters
    ----------
    shift_true, shift_pred : array_like, shape (..., 3)
        Shifts in voxels (any consistent axis order).
    round_first : bool
        ``True`` rounds both vectors to integers first (the paper's metric); ``False`` gives the
        unrounded Euclidean distance.
    """
    a = np.asarray(shift_true, dtype=np.float64)
    b = np.asarray(shift_pred, dtype=np.float64)
    if round_first:
        a, b = np.round(a), np.round(b)
    return np.linalg.norm(a - b, axis=-1)
