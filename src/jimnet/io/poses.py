"""RELION angles/origins ↔ jimnet poses — the only place this conversion happens.

jimnet pose (:mod:`jimnet.geometry.pose`): ``particle(x) = reference(Rᵀ(x − c − t) + c)`` with
``x`` a zyx voxel index, ``c = N // 2``, ``R`` acting on zyx vectors, ``t`` a zyx shift in voxels.

RELION (CONVENTIONS.md §2.5–2.6):

* ``rlnAngleRot/Tilt/Psi`` (degrees, ZYZ) give RELION's matrix ``A`` (xyz), which rotates the
  reference into the particle, so ``R = xyz_to_zyx_matrix(A)``.
* ``rlnOrigin{X,Y,Z}Angst`` moves the particle onto the reference and is applied before the
  rotation: the particle's centre lies at ``box centre − origin``. Hence
  ``t_zyx = −origin_xyz[::-1] / pixel_size``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from jimnet.geometry.euler import (
    matrix_xyz_to_relion_euler,
    relion_euler_to_matrix_xyz,
    xyz_to_zyx_matrix,
    zyx_to_xyz_matrix,
)

__all__ = ["pose_from_relion", "pose_to_relion"]


def _check_pixel_size(pixel_size: float) -> float:
    px = float(pixel_size)
    if not (np.isfinite(px) and px > 0):
        raise ValueError(f"pixel_size must be a positive number of Å, got {pixel_size}")
    return px


def pose_from_relion(
    angles_deg: ArrayLike, origin_xyz_angst: ArrayLike, pixel_size: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """RELION ``(rot, tilt, psi)`` + ``rlnOrigin{X,Y,Z}Angst`` → jimnet pose ``(R, t)``.

    Parameters
    ----------
    angles_deg : array_like, shape (n, 3)
        ``rlnAngleRot, rlnAngleTilt, rlnAnglePsi`` in degrees (RELION ZYZ).
    origin_xyz_angst : array_like, shape (n, 3)
        ``rlnOriginXAngst, rlnOriginYAngst, rlnOriginZAngst`` in Å.
    pixel_size : float
        Subtomogram voxel size in Å.

    Returns
    -------
    rotation : numpy.ndarray, shape (n, 3, 3)
        ``R`` acting on zyx vectors (reference → particle).
    shift : numpy.ndarray, shape (n, 3)
        ``t`` in voxels, zyx.
    """
    px = _check_pixel_size(pixel_size)
    angles = np.asarray(angles_deg, dtype=np.float64)
    origins = np.asarray(origin_xyz_angst, dtype=np.float64)
    if angles.shape[-1:] != (3,) or origins.shape != angles.shape:
        raise ValueError(
            f"angles_deg and origin_xyz_angst must both be (n, 3), got {angles.shape}, "
            f"{origins.shape}"
        )
    rotation = xyz_to_zyx_matrix(relion_euler_to_matrix_xyz(angles))
    shift = -origins[..., ::-1] / px
    return rotation, np.ascontiguousarray(shift)


def pose_to_relion(
    rotation_zyx: ArrayLike, shift_zyx_vox: ArrayLike, pixel_size: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """jimnet pose ``(R, t)`` → RELION ``(rot, tilt, psi)`` and ``rlnOrigin{X,Y,Z}Angst``.

    Inverse of :func:`pose_from_relion` (angles in scipy's canonical ranges: rot, psi in
    (−180, 180], tilt in [0, 180]).

    Parameters
    ----------
    rotation_zyx : array_like or torch.Tensor, shape (n, 3, 3)
        ``R`` acting on zyx vectors.
    shift_zyx_vox : array_like or torch.Tensor, shape (n, 3)
        ``t`` in voxels, zyx.
    pixel_size : float
        Voxel size in Å.

    Returns
    -------
    angles_deg : numpy.ndarray, shape (n, 3)
    origin_xyz_angst : numpy.ndarray, shape (n, 3)
    """
    px = _check_pixel_size(pixel_size)
    rot = _to_numpy(rotation_zyx)
    shift = _to_numpy(shift_zyx_vox)
    if rot.shape[-2:] != (3, 3) or shift.shape != rot.shape[:-1]:
        raise ValueError(
            f"rotation must be (n, 3, 3) and shift (n, 3), got {rot.shape}, {shift.shape}"
        )
    angles = matrix_xyz_to_relion_euler(zyx_to_xyz_matrix(rot))
    origins = -shift[..., ::-1] * px
    return angles, np.ascontiguousarray(origins)


def _to_numpy(x: ArrayLike) -> NDArray[np.float64]:
    if hasattr(x, "detach"):  # torch.Tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)
