"""Symmetry-aware pair and absolute pose errors."""

import numpy as np

from jimnet.evaluate.poses import absolute_pose_errors, pair_pose_errors, relative_pose
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
