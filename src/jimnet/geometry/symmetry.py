"""Point-group symmetry of a reference: the group's rotations and symmetry-aware pose errors.

Names follow RELION's ``--sym``: ``C1`` (none), ``Cn``, ``Dn``, ``T``, ``O``, ``I``. The
rotations come from scipy's :meth:`Rotation.create_group` with its default axis (``Cn`` about
x-y-z's z, ``Dn`` with its n-fold axis along z and a two-fold axis along x, as RELION; the
orientation of ``T``, ``O`` and ``I`` is scipy's).

Meaning (:mod:`jimnet.geometry.pose`): a reference is symmetric under ``g`` when rotating it by
``g`` about the box centre leaves it unchanged. A reference → particle pose ``(R, t)`` then has
the symmetry mates ``(R g, t)`` for every ``g`` in the group, all describing the same particle;
a pose error is the error to the nearest mate.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SYMMETRY_HELP",
    "nearest_mate",
    "normalise_symmetry",
    "symmetric_rotation_error",
    "symmetry_group",
]

#: One sentence for every ``--symmetry`` option.
SYMMETRY_HELP = ("Point group of the reference (RELION names): C1 (none), Cn, Dn (n-fold axis "
                 "along z, a 2-fold along x), T, O or I; poses are compared with the nearest "
                 "symmetry mate.")

_PATTERN = re.compile(r"^(?:([CD])(\d+)|([TOI]))$")


def normalise_symmetry(name: str | None) -> str:
    """Canonical spelling of a point-group name (``"d2"`` → ``"D2"``; ``None`` → ``"C1"``).

    Raises
    ------
    ValueError
        For anything but C1…Cn, D1…Dn, T, O, I.
    """
    if name is None:
        return "C1"
    text = name.strip().upper()
    match = _PATTERN.match(text)
    if match is None or (match.group(2) is not None and int(match.group(2)) < 1):
        raise ValueError(f"symmetry must be C1, Cn, Dn, T, O or I (n ≥ 1), got {name!r}")
    return text if match.group(3) else f"{match.group(1)}{int(match.group(2))}"


@lru_cache(maxsize=32)
def _group(name: str) -> NDArray[np.float64]:
    from scipy.spatial.transform import Rotation

    from jimnet.geometry.euler import xyz_to_zyx_matrix

    if name == "C1":
        return np.eye(3)[None]
    if name == "D1":  # scipy has no D1: the 2-fold about x alone
        mats = np.stack([np.eye(3), np.diag([1.0, -1.0, -1.0])])
    else:
        mats = Rotation.create_group(name).as_matrix()
    # Identity first, so mate 0 is the pose itself.
    order = np.argsort([np.abs(m - np.eye(3)).sum() > 1e-9 for m in mats], kind="stable")
    return xyz_to_zyx_matrix(mats[order])


def symmetry_group(name: str | None) -> NDArray[np.float64]:
    """Rotations of a point group acting on **zyx** vectors, identity first.

    Parameters
    ----------
    name : str or None
        ``C1``, ``Cn``, ``Dn``, ``T``, ``O`` or ``I`` (case-insensitive; ``None`` = ``C1``).

    Returns
    -------
    numpy.ndarray, shape (G, 3, 3)
        ``G`` = 1, n, 2n, 12, 24 or 60 (a fresh copy).
    """
    return _group(normalise_symmetry(name)).copy()


def nearest_mate(rot_true: ArrayLike, rot_pred: ArrayLike, symmetry: str | None
                 ) -> NDArray[np.float64]:
    """The symmetry mate ``R_true g`` of each true rotation closest to the predicted one.

    Parameters
    ----------
    rot_true, rot_pred : array_like, shape (..., 3, 3)
        Reference → particle rotations (zyx).
    symmetry : str or None
        Point group of the reference.

    Returns
    -------
    numpy.ndarray, shape (..., 3, 3)
    """
    group = symmetry_group(symmetry)
    true = np.asarray(rot_true, dtype=np.float64)
    pred = np.asarray(rot_pred, dtype=np.float64)
    mates = true[..., None, :, :] @ group  # (..., G, 3, 3)
    # ‖A − B‖_F² = 6 − 2 tr(AᵀB): the nearest mate has the largest trace.
    trace = np.einsum("...gij,...ij->...g", mates, pred)
    best = np.argmax(trace, axis=-1)
    return np.take_along_axis(mates, best[..., None, None, None], axis=-3)[..., 0, :, :]


def symmetric_rotation_error(rot_true: ArrayLike, rot_pred: ArrayLike, symmetry: str | None
                             ) -> NDArray[np.float64]:
    """``min_g ‖R_true g − R_pred‖_F`` (the paper's ‖ΔR‖_F to the nearest symmetry mate).

    Shapes (..., 3, 3) → (...); equals the plain error for ``C1``.
    """
    diff = nearest_mate(rot_true, rot_pred, symmetry) - np.asarray(rot_pred, dtype=np.float64)
    return np.sqrt(np.sum(diff**2, axis=(-2, -1)))
