"""A prediction scored against the truth a STAR file carries (simulations, curated sets)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from jimnet.evaluate.clustering import clustering_accuracy
from jimnet.evaluate.poses import pair_pose_errors, random_same_class_pairs, relative_pose
from jimnet.io import ParticleSet

if TYPE_CHECKING:  # evaluate does not depend on predict at run time
    from jimnet.predict import Prediction


def truth_metrics(result: Prediction, particles: ParticleSet, seed: int
                  ) -> dict[str, float] | None:
    """Clustering accuracy and pair pose errors against the STAR's true classes/poses."""
    truth = particles.class_numbers()
    if truth is None:
        return None
    out = {"accuracy_gmm": clustering_accuracy(truth - 1, result.labels).accuracy,
           "accuracy_mcp": clustering_accuracy(truth - 1, result.mcp_labels).accuracy}
    if "rlnAngleRot" in particles.table.columns:
        pairs = random_same_class_pairs(result.labels, truth, 2000, np.random.default_rng(seed))
        if len(pairs):
            pred = relative_pose(result.rotations, result.shifts, pairs)
            r_err, t_err = pair_pose_errors(*pred, *particles.poses(), pairs)
            out.update(rotation_error=float(r_err.mean()), translation_error=float(t_err.mean()))
    return out
