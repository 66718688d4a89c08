"""A prediction scored against the truth a STAR file carries (simulations, curated sets)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from jimnet.evaluate.clustering import clustering_accuracy
from jimnet.evaluate.poses import (
    absolute_pose_errors,
    fitted_frame_rotation_errors,
    pair_pose_errors,
    random_same_class_pairs,
    relative_pose,
)
from jimnet.io import ParticleSet

if TYPE_CHECKING:  # evaluate does not depend on predict at run time
    from jimnet.predict import Prediction


def truth_metrics(result: Prediction, particles: ParticleSet, seed: int,
                  symmetry: str | None = None) -> dict[str, float] | None:
    """Clustering accuracy and pose errors against the STAR's true classes/poses.

    ``accuracy_gmm``: of the final labels; ``accuracy_clusters`` (when the alignment moved
    particles between clusters): of the clustering step's labels before that.
    ``rotation_error`` / ``translation_error``: means over 2000 random same-cluster, same-class
    pairs of the relative-pose errors (the paper's protocol; to the nearest mate under
    ``symmetry``). ``rotation_error_particle``: mean per-particle error after fitting each
    class average's frame to the truth (:func:`fitted_frame_rotation_errors`; asymmetric only).
    """
    truth = particles.class_numbers()
    if truth is None:
        return None
    out = {"accuracy_gmm": clustering_accuracy(truth - 1, result.labels).accuracy,
           "accuracy_mcp": clustering_accuracy(truth - 1, result.mcp_labels).accuracy}
    if result.cluster_labels is not None:
        out["accuracy_clusters"] = clustering_accuracy(truth - 1, result.cluster_labels).accuracy
    if "rlnAngleRot" in particles.table.columns:
        pairs = random_same_class_pairs(result.labels, truth, 2000, np.random.default_rng(seed))
        if len(pairs):
            pred = relative_pose(result.rotations, result.shifts, pairs)
            r_err, t_err = pair_pose_errors(*pred, *particles.poses(), pairs, symmetry)
            out.update(rotation_error=float(r_err.mean()), translation_error=float(t_err.mean()))
        if symmetry in (None, "C1"):
            per = fitted_frame_rotation_errors(result.rotations, particles.poses()[0],
                                               result.labels, truth)
            if np.isfinite(per).any():
                out["rotation_error_particle"] = float(np.nanmean(per))
    return out


def has_poses(particles: ParticleSet) -> bool:
    """Whether the STAR carries poses (``rlnAngleRot/Tilt/Psi``)."""
    return all(c in particles.table.columns for c in ("rlnAngleRot", "rlnAngleTilt",
                                                       "rlnAnglePsi"))


def alignment_truth_errors(rotations: np.ndarray, shifts: np.ndarray, particles: ParticleSet,
                           symmetry: str | None = None, seed: int = 0
                           ) -> dict[str, float] | None:
    """Errors of poses found by aligning to a reference, against the STAR's own poses.

    Two views, since the reference's frame need not be the truth's: ``rotation_error`` /
    ``translation_error_vox`` compare the poses directly (meaningful when the reference is in
    the truth's frame, e.g. the simulation's template), ``pair_rotation_error`` /
    ``pair_translation_error_vox`` compare relative poses of up to 2000 random pairs
    (frame-independent, as ``train`` and ``predict`` report). All means; ‖ΔR‖_F to the nearest
    symmetry mate.

    Parameters
    ----------
    rotations : shape (n, 3, 3)
        Found reference → particle rotations (zyx).
    shifts : shape (n, 3)
        Found shifts, voxels (zyx).

    Returns
    -------
    dict or None
        ``None`` when the STAR has no poses.
    """
    if not has_poses(particles):
        return None
    true_rot, true_shift = particles.poses()
    r_abs, t_abs = absolute_pose_errors(rotations, shifts, true_rot, true_shift, symmetry)
    out = {"rotation_error": float(r_abs.mean()), "translation_error_vox": float(t_abs.mean())}
    n = len(particles)
    if n >= 2:
        rng = np.random.default_rng(seed)
        pairs = random_same_class_pairs(np.zeros(n, dtype=np.int64),
                                        np.ones(n, dtype=np.int64), min(2000, n * (n - 1)), rng)
        pred = relative_pose(np.asarray(rotations), np.asarray(shifts), pairs)
        r_pair, t_pair = pair_pose_errors(*pred, true_rot, true_shift, pairs, symmetry)
        out.update(pair_rotation_error=float(r_pair.mean()),
                   pair_translation_error_vox=float(t_pair.mean()))
    return out
