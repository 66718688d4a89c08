"""Training-health warnings and the random-rotation reference value."""

import numpy as np

from jimnet.geometry import random_rotations, rotation_error_frobenius
from jimnet.train.health import RANDOM_ROTATION_ERROR, training_warnings
from jimnet.train.trainer import EpochResult


def _epoch(k, err, sat=0.0):
    return EpochResult(epoch=k, losses={}, cluster_sizes=[], label_change=None, seconds=1.0,
                       rotation_error=err, saturated=sat)


def test_random_rotation_error_matches_monte_carlo():
    err = rotation_error_frobenius(random_rotations(200_000, 0), random_rotations(200_000, 1))
    assert abs(err.mean() - RANDOM_ROTATION_ERROR) < 0.005  # standard error ≈ 0.001


def test_warnings_for_random_pose_errors_and_saturation_only():
    assert training_warnings([_epoch(1, 2.33), _epoch(2, 2.45)])[0].startswith("rotation error")
    assert training_warnings([_epoch(1, 2.40), _epoch(2, 1.2)]) == []  # it learned
    assert training_warnings([_epoch(1, None)]) == []  # no truth: nothing to say
    sat = training_warnings([_epoch(1, 0.5, sat=0.6)])
    assert len(sat) == 1 and "saturated" in sat[0]
    assert np.isclose(RANDOM_ROTATION_ERROR, 2.4008, atol=1e-4)
