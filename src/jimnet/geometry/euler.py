"""Euler-angle conventions and the xyz ↔ zyx axis flip.

Two conventions meet in jimnet:

* **RELION** (files): ``rlnAngleRot, rlnAngleTilt, rlnAnglePsi`` in degrees, intrinsic ZYZ about
  the physical x, y, z axes. RELION's matrix ``A`` (``Euler_angles2matrix``) rotates the
  *reference into the particle* and equals
  ``Rotation.from_euler("ZYZ", [rot, tilt, psi], degrees=True).as_matrix().T``.
* **AITom / Gum-Net** (the network's parameterisation): ``(phi, theta, psi)`` in radians,
  ``R = Rz(phi) @ Ry(theta) @ Rz(psi)`` where "x, y, z" are *array axes* 0, 1, 2. Acting on
  array-index vectors, this is directly jimnet's internal zyx pose matrix.

Internal matrices act on zyx column vectors (array-axis order). ``P = antidiag(1, 1, 1)`` swaps x
and z, so an xyz matrix ``A`` becomes ``P @ A @ P`` in zyx. ``P`` is a reflection, but ``P A P``
is still a proper rotation.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

_FLIP = np.eye(3)[::-1].copy()


def xyz_to_zyx_matrix(matrix_xyz: ArrayLike) -> NDArray[np.float64]:
    """Express rotation matrices given on xyz vectors on zyx vectors.

    Parameters
    ----------
    matrix_xyz : array_like, shape (..., 3, 3)
        Rotation matrices acting on column vectors ordered (x, y, z).

    Returns
    -------
    numpy.ndarray, shape (..., 3, 3)
        The same rotations acting on column vectors ordered (z, y, x).
    """
    m = np.asarray(matrix_xyz, dtype=np.float64)
    return m[..., ::-1, ::-1].copy()


def zyx_to_xyz_matrix(matrix_zyx: ArrayLike) -> NDArray[np.float64]:
    """Inverse of :func:`xyz_to_zyx_matrix` (the flip is its own inverse)."""
    return xyz_to_zyx_matrix(matrix_zyx)


def relion_euler_to_matrix_xyz(angles_deg: ArrayLike) -> NDArray[np.float64]:
    """RELION ``(rot, tilt, psi)`` in degrees → RELION's matrix ``A`` (reference → particle).

    Parameters
    ----------
    angles_deg : array_like, shape (..., 3)
        ``rlnAngleRot, rlnAngleTilt, rlnAnglePsi`` in degrees.

    Returns
    -------
    numpy.ndarray, shape (..., 3, 3)
        ``A`` acting on xyz column vectors; ``A @ r_ref`` is where reference point ``r_ref``
        (relative to the box centre) lies in the particle.
    """
    angles = np.asarray(angles_deg, dtype=np.float64)
    flat = angles.reshape(-1, 3)
    mats = Rotation.from_euler("ZYZ", flat, degrees=True).as_matrix().transpose(0, 2, 1)
    return mats.reshape(*angles.shape[:-1], 3, 3)


def matrix_xyz_to_relion_euler(matrix_xyz: ArrayLike) -> NDArray[np.float64]:
    """RELION's matrix ``A`` (xyz, reference → particle) → ``(rot, tilt, psi)`` in degrees.

    Angles are in scipy's canonical ranges: rot, psi in (-180, 180], tilt in [0, 180].
    At tilt 0 or 180 (gimbal lock) only rot ± psi is defined; psi is then set to 0.
    """
    m = np.asarray(matrix_xyz, dtype=np.float64)
    flat = m.reshape(-1, 3, 3).transpose(0, 2, 1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Gimbal lock")
        angles = Rotation.from_matrix(flat).as_euler("ZYZ", degrees=True)
    return angles.reshape(*m.shape[:-2], 3)


def _rz(a: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(a), torch.sin(a)
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    rows = [torch.stack([c, -s, zero], -1), torch.stack([s, c, zero], -1),
            torch.stack([zero, zero, one], -1)]
    return torch.stack(rows, -2)


def _ry(a: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(a), torch.sin(a)
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    rows = [torch.stack([c, zero, s], -1), torch.stack([zero, one, zero], -1),
            torch.stack([-s, zero, c], -1)]
    return torch.stack(rows, -2)


def aitom_euler_to_matrix(angles_rad: torch.Tensor | ArrayLike) -> torch.Tensor | NDArray:
    """AITom/Gum-Net ZYZ angles ``(phi, theta, psi)`` in radians → internal zyx pose matrix.

    ``R = Rz(phi) @ Ry(theta) @ Rz(psi)`` on array-axis vectors, so the result is directly the
    rotation of a jimnet pose. Differentiable when given a torch tensor.

    Parameters
    ----------
    angles_rad : torch.Tensor or array_like, shape (..., 3)

    Returns
    -------
    torch.Tensor or numpy.ndarray, shape (..., 3, 3)
        Same type as the input (numpy input gives float64 numpy output).
    """
    is_torch = isinstance(angles_rad, torch.Tensor)
    a = angles_rad if is_torch else torch.as_tensor(np.asarray(angles_rad, dtype=np.float64))
    mat = _rz(a[..., 0]) @ _ry(a[..., 1]) @ _rz(a[..., 2])
    return mat if is_torch else mat.numpy()


def matrix_to_aitom_euler(matrix_zyx: ArrayLike) -> NDArray[np.float64]:
    """Internal zyx pose matrix → AITom ZYZ ``(phi, theta, psi)`` in radians.

    Ranges: phi, psi in (-π, π], theta in [0, π]; at gimbal lock psi is set to 0.
    """
    m = np.asarray(matrix_zyx, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Gimbal lock")
        angles = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_euler("ZYZ")
    return angles.reshape(*m.shape[:-2], 3)


def relion_to_aitom_euler(angles_deg: ArrayLike) -> NDArray[np.float64]:
    """RELION angles (degrees) → AITom angles (radians) describing the same internal pose."""
    return matrix_to_aitom_euler(xyz_to_zyx_matrix(relion_euler_to_matrix_xyz(angles_deg)))


def aitom_to_relion_euler(angles_rad: ArrayLike) -> NDArray[np.float64]:
    """AITom angles (radians) → RELION angles (degrees) describing the same internal pose."""
    mat = aitom_euler_to_matrix(np.asarray(angles_rad, dtype=np.float64))
    return matrix_xyz_to_relion_euler(zyx_to_xyz_matrix(mat))
