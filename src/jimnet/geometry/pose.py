"""What a pose means — the single definition used throughout jimnet.

A pose is a rigid transform ``T = (R, t)`` about the box centre ``c = N // 2`` (per axis) that
maps the **reference onto the particle**::

    particle(x) = reference(Rᵀ (x - c - t) + c)

i.e. rotate the reference by ``R`` about the centre, then shift it by ``t``. ``x``, ``c`` and
``t`` are zyx voxel vectors and ``R`` acts on zyx column vectors. Applying the *inverse* pose to a
particle brings it onto the reference. This is RELION's meaning of ``rlnAngle*`` (reference →
particle); the conversion of ``rlnOrigin*Angst`` (which moves the particle onto the reference) is in
:mod:`jimnet.io.poses`. Warping a volume by a pose is :func:`jimnet.transform.rigid_transform`.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

Array = NDArray[np.float64] | torch.Tensor


def _transpose(m: Array) -> Array:
    return m.transpose(-1, -2) if isinstance(m, torch.Tensor) else np.swapaxes(m, -1, -2)


def compose_poses(rot2: Array, shift2: Array, rot1: Array, shift1: Array) -> tuple[Array, Array]:
    """Pose of ``T2 ∘ T1`` (first apply ``T1``, then ``T2``).

    Parameters
    ----------
    rot2, rot1 : array or tensor, shape (..., 3, 3)
    shift2, shift1 : array or tensor, shape (..., 3), voxels (zyx)

    Returns
    -------
    rotation : shape (..., 3, 3)
        ``R2 @ R1``
    shift : shape (..., 3)
        ``R2 @ t1 + t2``
    """
    rot = rot2 @ rot1
    shift = (rot2 @ shift1[..., None])[..., 0] + shift2
    return rot, shift


def invert_pose(rot: Array, shift: Array) -> tuple[Array, Array]:
    """Inverse pose ``(Rᵀ, -Rᵀ t)``: maps the particle back onto the reference."""
    rot_t = _transpose(rot)
    return rot_t, -(rot_t @ shift[..., None])[..., 0]


def random_rotations(n: int, seed: int | np.random.Generator | None) -> NDArray[np.float64]:
    """Haar-uniform random rotation matrices (scipy ``Rotation.random``).

    Uniformity does not depend on the axis order, so the result is valid as zyx or xyz matrices.

    Parameters
    ----------
    n : int
        Number of rotations.
    seed : int or numpy.random.Generator
        Seed for reproducibility.

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
    """
    return Rotation.random(n, random_state=seed).as_matrix().reshape(n, 3, 3)
