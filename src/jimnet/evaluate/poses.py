"""Pose errors against the truth: absolute (same frame) and frame-independent (relative poses of
particle pairs), both to the nearest symmetry mate of the truth (:mod:`jimnet.geometry.symmetry`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from jimnet.geometry import compose_poses, invert_pose, rotation_error_frobenius
from jimnet.geometry.metrics import translation_error_voxels
from jimnet.geometry.symmetry import symmetric_rotation_error, symmetry_group


def relative_pose(rot: NDArray, shift: NDArray, pairs: NDArray) -> tuple[NDArray, NDArray]:
    """Pose mapping particle ``i`` onto particle ``j`` for each row ``(i, j)`` of ``pairs``.

    ``rot``/``shift`` (n, 3, 3)/(n, 3) are reference → particle poses; the result is
    ``T_j ∘ T_i⁻¹``, which does not depend on the reference's frame.
    """
    i, j = pairs[:, 0], pairs[:, 1]
    return compose_poses(rot[j], shift[j], *invert_pose(rot[i], shift[i]))


def pair_pose_errors(pred_rel_rot: NDArray, pred_rel_shift: NDArray, true_rot: NDArray,
                     true_shift: NDArray, pairs: NDArray, symmetry: str | None = None
                     ) -> tuple[NDArray, NDArray]:
    """Paper metrics (‖ΔR‖_F, rounded translation error in voxels) of predicted pair poses.

    Parameters
    ----------
    pred_rel_rot, pred_rel_shift : shapes (p, 3, 3), (p, 3)
        Predicted poses mapping ``pairs[:, 0]`` onto ``pairs[:, 1]``.
    true_rot, true_shift : shapes (n, 3, 3), (n, 3)
        True reference → particle poses of all particles.
    pairs : int array, shape (p, 2)
    symmetry : str, optional
        Point group of the reference: particle ``i``'s true pose may be any mate
        ``(R_i g, t_i)``, so the true relative pose is ``T_j ∘ (R_i g, t_i)⁻¹`` for the ``g``
        closest to the prediction (the translation error is taken at that ``g``).
    """
    group = symmetry_group(symmetry)  # (G, 3, 3)
    i, j = pairs[:, 0], pairs[:, 1]
    rot_i = np.asarray(true_rot, dtype=np.float64)[i][:, None] @ group  # (p, G, 3, 3)
    shift_i = np.broadcast_to(np.asarray(true_shift, dtype=np.float64)[i][:, None],
                              (*rot_i.shape[:2], 3))
    r_rel, t_rel = compose_poses(np.asarray(true_rot, dtype=np.float64)[j][:, None],
                                 np.asarray(true_shift, dtype=np.float64)[j][:, None],
                                 *invert_pose(rot_i, shift_i))
    r_err = rotation_error_frobenius(r_rel, np.asarray(pred_rel_rot)[:, None])  # (p, G)
    best = np.argmin(r_err, axis=1)
    rows = np.arange(len(pairs))
    return r_err[rows, best], translation_error_voxels(t_rel[rows, best], pred_rel_shift)


def absolute_pose_errors(pred_rot: NDArray, pred_shift: NDArray, true_rot: NDArray,
                         true_shift: NDArray, symmetry: str | None = None
                         ) -> tuple[NDArray, NDArray]:
    """Errors of poses found against a reference in the truth's own frame.

    Parameters
    ----------
    pred_rot, true_rot : shape (n, 3, 3)
        Reference → particle rotations (zyx).
    pred_shift, true_shift : shape (n, 3)
        Shifts in voxels (zyx).
    symmetry : str, optional
        Point group of the reference: the rotation error is to the nearest mate ``R_true g``
        (mates share the shift, the symmetry axes passing through the box centre).

    Returns
    -------
    rotation_error : shape (n,)
        ‖ΔR‖_F (0 … 2√2).
    translation_error : shape (n,)
        Unrounded Euclidean shift error in voxels.
    """
    return (symmetric_rotation_error(true_rot, pred_rot, symmetry),
            translation_error_voxels(true_shift, pred_shift, round_first=False))


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


def fitted_frame_rotation_errors(pred_rot: NDArray, true_rot: NDArray, labels: NDArray,
                                 classes: NDArray, *, max_candidates: int = 300,
                                 seed: int = 0) -> NDArray:
    """Per-particle ‖ΔR‖_F after fitting each class average's frame to the truth's.

    A reference-free class average lies in a frame of its own: its poses are
    ``R_est,i ≈ R_true,i F`` for one unknown rotation ``F`` per class. Per group of particles
    sharing predicted label and true class, ``F`` is fitted robustly (the member frame
    ``R_true,iᵀ R_est,i`` with the smallest sum of ‖·‖_F distances capped at 1 to the others,
    then the SO(3) projection of the mean of the members within 0.5 of it), so that a minority
    of well-aligned particles still defines the frame when the rest are lost; each particle's
    error is ``‖R_est,i − R_true,i F‖_F``. No symmetry: for a symmetric reference use the pair
    errors.

    Parameters
    ----------
    pred_rot, true_rot : shape (n, 3, 3)
        Found and true reference → particle rotations.
    labels, classes : int arrays, shape (n,)
        Predicted clusters and true classes.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Errors (0 … 2√2); NaN for particles in groups of fewer than 3.
    """
    pred_rot = np.asarray(pred_rot, dtype=np.float64)
    true_rot = np.asarray(true_rot, dtype=np.float64)
    key = np.asarray(labels, dtype=np.int64) * (int(np.max(classes)) + 1) + np.asarray(classes)
    errors = np.full(len(pred_rot), np.nan)
    rng = np.random.default_rng(seed)
    for k in np.unique(key):
        idx = np.flatnonzero(key == k)
        if len(idx) < 3:
            continue
        frames = np.swapaxes(true_rot[idx], 1, 2) @ pred_rot[idx]  # (m, 3, 3)
        cand = rng.choice(len(idx), size=min(max_candidates, len(idx)), replace=False)
        dist = np.linalg.norm(frames[cand][:, None] - frames[None], axis=(2, 3))  # (c, m)
        centre = frames[cand[np.argmin(np.minimum(dist, 1.0).sum(1))]]
        inliers = np.linalg.norm(frames - centre, axis=(1, 2)) < 0.5
        # the chordal mean: the SO(3) projection of the members' mean matrix
        frame = Rotation.from_matrix(frames[inliers]).mean().as_matrix()
        errors[idx] = rotation_error_frobenius(true_rot[idx] @ frame, pred_rot[idx])
    return errors
