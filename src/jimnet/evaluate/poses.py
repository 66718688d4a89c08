"""Frame-independent pose errors: compare relative poses of particle pairs with the truth."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from jimnet.geometry import compose_poses, invert_pose, rotation_error_frobenius
from jimnet.geometry.metrics import translation_error_voxels


def relative_pose(rot: NDArray, shift: NDArray, pairs: NDArray) -> tuple[NDArray, NDArray]:
    """Pose mapping particle ``i`` onto particle ``j`` for each row ``(i, j)`` of ``pairs``.

    ``rot``/``shift`` (n, 3, 3)/(n, 3) are reference → particle poses; the result is
    ``T_j ∘ T_i⁻¹``, which does not depend on the reference's frame.
    """
    i, j = pairs[:, 0], pairs[:, 1]
    return compose_poses(rot[j], shift[j], *invert_pose(rot[i], shift[i]))


def pair_pose_errors(pred_rel_rot: NDArray, pred_rel_shift: NDArray, true_rot: NDArray,
                     true_shift: NDArray, pairs: NDArray) -> tuple[NDArray, NDArray]:
    """Paper metrics (‖ΔR‖_F, rounded translation error in voxels) of predicted pair poses.

    Parameters
    ----------
    pred_rel_rot, pred_rel_shift : shapes (p, 3, 3), (p, 3)
        Predicted poses mapping ``pairs[:, 0]`` onto ``pairs[:, 1]``.
    true_rot, true_shift : shapes (n, 3, 3), (n, 3)
        True reference → particle poses of all particles.
    pairs : int array, shape (p, 2)
    """
    r_rel, t_rel = relative_pose(true_rot, true_shift, pairs)
    return (rotation_error_frobenius(r_rel, pred_rel_rot),
            translation_error_voxels(t_rel, pred_rel_shift))


def random_same_class_pairs(labels: NDArray, classes: NDArray, n_pairs: int,
                            rng: np.random.Generator) -> NDArray:
    """Up to ``n_pairs`` random pairs ``(i, j)``, ``i ≠ j``, sharing both label and true class."""
    key = labels.astype(np.int64) * (int(classes.max()) + 1) + classes.astype(np.int64)
    groups = [np.flatnonzero(key == k) for k in np.unique(key)]
    groups = [g for g in groups if len(g) >= 2]
    if not groups:
        return np.empty((0, 2), dtype=np.int64)
    sizes = np.array([len(g) for g in groups], dtype=float)
    which = rng.choice(len(groups), size=n_pairs, p=sizes / sizes.sum())
    pairs = np.array([rng.choice(groups[g], size=2, replace=False) for g in which])
    return pairs.astype(np.int64)
