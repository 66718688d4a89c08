"""Rotation vectors (axis-angle) on zyx array axes: the network's gimbal-lock-free rotation
parameterisation.

A rotation vector ``ω`` (zyx components, radians) is the rotation by ``|ω|`` about the unit axis
``ω/|ω|`` (right-handed, acting on zyx column vectors as every jimnet matrix does). At ``ω = 0``
the map ``ω ↦ R`` has a full-rank (rank 3) Jacobian, unlike ZYZ Euler angles at the identity.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation


def _skew(v: torch.Tensor) -> torch.Tensor:
    z = torch.zeros_like(v[..., 0])
    a, b, c = v[..., 0], v[..., 1], v[..., 2]
    return torch.stack([torch.stack([z, -c, b], -1), torch.stack([c, z, -a], -1),
                        torch.stack([-b, a, z], -1)], -2)


def rotvec_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula ``R = I + (sin θ/θ) K + ((1 − cos θ)/θ²) K²``, differentiable
    everywhere (Taylor series below θ = 1e-3).

    Parameters
    ----------
    rotvec : torch.Tensor, shape (..., 3)
        zyx rotation vectors, radians.

    Returns
    -------
    torch.Tensor, shape (..., 3, 3)
    """
    theta2 = (rotvec * rotvec).sum(-1)
    small = theta2 < 1e-6
    safe2 = torch.where(small, torch.ones_like(theta2), theta2)
    theta = torch.sqrt(safe2)
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / safe2)
    k = _skew(rotvec)
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device).expand(k.shape)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def matrix_to_rotvec(matrix: ArrayLike) -> NDArray[np.float64]:
    """Inverse of :func:`rotvec_to_matrix` (numpy, float64); ``|ω| ∈ [0, π]``.

    Parameters
    ----------
    matrix : array_like, shape (..., 3, 3)
        zyx rotation matrices.

    Returns
    -------
    numpy.ndarray, shape (..., 3)
    """
    m = np.asarray(matrix, dtype=np.float64)
    return Rotation.from_matrix(m.reshape(-1, 3, 3)).as_rotvec().reshape(*m.shape[:-2], 3)
