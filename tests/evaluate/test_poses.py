"""Symmetry-aware pair and absolute pose errors."""

import numpy as np
from scipy.spatial.transform import Rotation

from jimnet.evaluate.poses import (
    absolute_pose_errors,
    fitted_frame_rotation_errors,
    pair_pose_errors,
    relative_pose,
)
from jimnet.geometry import compose_poses, invert_pose, random_rotations
from jimnet.geometry.symmetry import symmetry_group


def test_pair_errors_of_a_symmetry_mate_vanish_only_with_the_symmetry():
    rng = np.random.default_rng(0)
    rot, shift = random_rotations(6, 1), rng.uniform(-3, 3, (6, 3))
    pairs = np.array([[0, 1], [2, 3], [4, 5], [1, 4]])
    group = symmetry_group("D3")
    g = group[rng.integers(1, 6, len(pairs))]  # a non-identity mate of particle i's pose
    i, j = pairs.T
    pred = compose_poses(rot[j], shift[j], *invert_pose(rot[i] @ g, shift[i]))
    r_sym, t_sym = pair_pose_errors(*pred, rot, shift, pairs, "D3")
    r_plain, _ = pair_pose_errors(*pred, rot, shift, pairs)
    assert r_sym.max() < 1e-9 and t_sym.max() == 0
    assert r_plain.min() > 0.5
    exact = relative_pose(rot, shift, pairs)
    np.testing.assert_allclose(pair_pose_errors(*exact, rot, shift, pairs, "D3")[0], 0,
                               atol=1e-9)


def test_absolute_errors_use_the_nearest_mate_and_the_unrounded_shift():
    rot = random_rotations(4, 3)
    group = symmetry_group("C4")
    found = rot @ group[[1, 2, 3, 0]]
    shift = np.zeros((4, 3))
    r, t = absolute_pose_errors(found, shift + np.array([0.3, 0.4, 0.0]), rot, shift, "C4")
    np.testing.assert_allclose(r, 0, atol=1e-9)
    np.testing.assert_allclose(t, 0.5)
    r_plain, _ = absolute_pose_errors(found, shift, rot, shift)
    assert r_plain[:3].min() > 1.0 and r_plain[3] < 1e-9


def test_fitted_frame_errors_recover_a_minority_frame_per_group():
    # 40 % of a class aligned (up to 3° jitter) in a frame of its own, 60 % lost; a second
    # cluster in another frame. The fitted errors must equal ‖R_est − R_true F‖ at the true F.
    rng = np.random.default_rng(2)
    n = 50
    true = Rotation.random(2 * n, random_state=3)
    frames = Rotation.random(2, random_state=4)
    labels = np.repeat([0, 1], n)
    jitter = Rotation.from_rotvec(rng.normal(size=(2 * n, 3)) * np.radians(1.5))
    pred = true * frames[labels] * jitter
    lost = rng.random(2 * n) < 0.6
    pred = Rotation.concatenate([Rotation.random(2 * n, random_state=5)[i] if lost[i]
                                 else pred[i] for i in range(2 * n)])
    errors = fitted_frame_rotation_errors(pred.as_matrix(), true.as_matrix(), labels, labels)
    expected = np.linalg.norm(pred.as_matrix() - (true * frames[labels]).as_matrix(),
                              axis=(1, 2))
    assert np.abs(errors - expected).max() < 0.03, np.abs(errors - expected).max()
    assert errors[~lost].max() < 0.2 and np.median(errors[lost]) > 1.0


def test_fitted_frame_errors_skip_tiny_groups():
    rot = Rotation.random(4, random_state=0).as_matrix()
    errors = fitted_frame_rotation_errors(rot, rot, np.array([0, 0, 0, 1]),
                                          np.array([0, 0, 0, 0]))
    np.testing.assert_allclose(errors[:3], 0, atol=1e-9)
    assert np.isnan(errors[3])
