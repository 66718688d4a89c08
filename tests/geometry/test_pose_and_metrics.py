import numpy as np
import torch
from scipy.spatial.transform import Rotation

from jimnet.geometry import (
    compose_poses,
    geodesic_angle_deg,
    invert_pose,
    random_rotations,
    rotation_error_frobenius,
    translation_error_voxels,
)


def _apply(rot, shift, points):
    return points @ rot.T + shift


def test_compose_matches_sequential_application():
    rng = np.random.default_rng(0)
    r1, r2 = random_rotations(2, seed=1)
    t1, t2 = rng.normal(size=3), rng.normal(size=3)
    pts = rng.normal(size=(7, 3))
    rot, shift = compose_poses(r2, t2, r1, t1)
    np.testing.assert_allclose(_apply(rot, shift, pts), _apply(r2, t2, _apply(r1, t1, pts)))


def test_inverse_undoes_pose_numpy_and_torch():
    rng = np.random.default_rng(1)
    rot = random_rotations(4, seed=2)
    shift = rng.normal(size=(4, 3))
    inv_r, inv_t = invert_pose(rot, shift)
    ident_r, ident_t = compose_poses(inv_r, inv_t, rot, shift)
    np.testing.assert_allclose(ident_r, np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(ident_t, 0.0, atol=1e-12)
    tr, tt = invert_pose(torch.from_numpy(rot), torch.from_numpy(shift))
    np.testing.assert_allclose(tr.numpy(), inv_r)
    np.testing.assert_allclose(tt.numpy(), inv_t)


def test_random_rotations_are_proper_reproducible_and_uniform():
    a = random_rotations(4000, seed=7)
    np.testing.assert_allclose(a, random_rotations(4000, seed=7))
    np.testing.assert_allclose(np.linalg.det(a), 1.0, atol=1e-10)
    # Haar measure: E[trace] = 0 and E[R] = 0 (Monte-Carlo tolerance ~ 4/sqrt(n)).
    assert abs(np.trace(a, axis1=1, axis2=2).mean()) < 0.06
    assert np.abs(a.mean(axis=0)).max() < 0.06


def test_frobenius_error_closed_form_and_random_expectation():
    rng = np.random.default_rng(3)
    angles = rng.uniform(0, np.pi, 20)
    axes = rng.normal(size=(20, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    r_true = random_rotations(20, seed=4)
    delta = Rotation.from_rotvec(axes * angles[:, None]).as_matrix()
    r_pred = r_true @ delta
    err = rotation_error_frobenius(r_true, r_pred)
    np.testing.assert_allclose(err, 2 * np.sqrt(2) * np.abs(np.sin(angles / 2)), atol=1e-10)
    np.testing.assert_allclose(geodesic_angle_deg(r_true, r_pred), np.degrees(angles), atol=1e-6)
    # Paper check: E‖R1 − R2‖_F for independent uniform rotations is 16√2/(3π) ≈ 2.40.
    mc = rotation_error_frobenius(random_rotations(20000, 5), random_rotations(20000, 6)).mean()
    assert abs(mc - 16 * np.sqrt(2) / (3 * np.pi)) < 0.02


def test_translation_error_rounded_and_unrounded():
    t_true = np.array([[0.4, 1.6, -2.5]])
    t_pred = np.array([[0.0, 2.0, -2.0]])
    # np.round rounds half to even: -2.5 → -2, so rounded vectors agree exactly.
    np.testing.assert_allclose(translation_error_voxels(t_true, t_pred), [0.0])
    np.testing.assert_allclose(translation_error_voxels(t_true, t_pred, round_first=False),
                               [np.sqrt(0.16 + 0.16 + 0.25)])
