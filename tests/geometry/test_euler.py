import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from jimnet.geometry import (
    aitom_euler_to_matrix,
    aitom_to_relion_euler,
    matrix_to_aitom_euler,
    matrix_xyz_to_relion_euler,
    relion_euler_to_matrix_xyz,
    relion_to_aitom_euler,
    xyz_to_zyx_matrix,
    zyx_to_xyz_matrix,
)


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def test_relion_matrix_matches_documented_identity():
    rng = np.random.default_rng(0)
    angles = rng.uniform([-180, 0, -180], [180, 180, 180], size=(20, 3))
    a = relion_euler_to_matrix_xyz(angles)
    for ang, mat in zip(angles, a, strict=True):
        expected = Rotation.from_euler("ZYZ", ang, degrees=True).as_matrix().T
        np.testing.assert_allclose(mat, expected, atol=1e-12)


def test_relion_matrix_matches_relion_euler_cpp_formula():
    # Independent reference: RELION src/euler.cpp Euler_angles2matrix written out by hand.
    rot, tilt, psi = np.radians([30.0, 50.0, -70.0])
    ca, sa, cb, sb, cg, sg = (np.cos(rot), np.sin(rot), np.cos(tilt), np.sin(tilt),
                              np.cos(psi), np.sin(psi))
    cc, cs, sc, ss = cb * ca, cb * sa, sb * ca, sb * sa
    expected = np.array([
        [cg * cc - sg * sa, cg * cs + sg * ca, -cg * sb],
        [-sg * cc - cg * sa, -sg * cs + cg * ca, sg * sb],
        [sc, ss, cb],
    ])
    actual = relion_euler_to_matrix_xyz([30.0, 50.0, -70.0])
    np.testing.assert_allclose(actual, expected, atol=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_relion_round_trip(seed):
    mats = Rotation.random(50, random_state=seed).as_matrix()
    angles = matrix_xyz_to_relion_euler(mats)
    np.testing.assert_allclose(relion_euler_to_matrix_xyz(angles), mats, atol=1e-10)


def test_relion_gimbal_lock_round_trip_without_warning():
    mats = relion_euler_to_matrix_xyz(np.array([[40.0, 0.0, 10.0], [10.0, 180.0, 0.0]]))
    np.testing.assert_allclose(relion_euler_to_matrix_xyz(matrix_xyz_to_relion_euler(mats)), mats,
                               atol=1e-10)


def test_aitom_matrix_is_rz_ry_rz():
    phi, theta, psi = 0.3, -1.2, 2.5
    expected = _rz(phi) @ _ry(theta) @ _rz(psi)
    np.testing.assert_allclose(aitom_euler_to_matrix([phi, theta, psi]), expected, atol=1e-12)


def test_aitom_torch_is_differentiable_and_matches_numpy():
    angles = torch.tensor([[0.3, -1.2, 2.5], [1.0, 0.5, -0.1]], dtype=torch.float64,
                          requires_grad=True)
    mat = aitom_euler_to_matrix(angles)
    mat.sum().backward()
    assert angles.grad is not None
    np.testing.assert_allclose(mat.detach().numpy(), aitom_euler_to_matrix(angles.detach().numpy()))


def test_aitom_round_trip_including_negative_theta():
    rng = np.random.default_rng(3)
    angles = rng.uniform(-np.pi, np.pi, size=(40, 3))  # theta in (-π, π) double-covers SO(3)
    mats = aitom_euler_to_matrix(angles)
    np.testing.assert_allclose(aitom_euler_to_matrix(matrix_to_aitom_euler(mats)), mats, atol=1e-10)


def test_flip_is_conjugation_by_axis_reversal():
    r = Rotation.random(5, random_state=4).as_matrix()
    p = np.eye(3)[::-1]
    np.testing.assert_allclose(xyz_to_zyx_matrix(r), p @ r @ p)
    np.testing.assert_allclose(zyx_to_xyz_matrix(xyz_to_zyx_matrix(r)), r)
    np.testing.assert_allclose(np.linalg.det(xyz_to_zyx_matrix(r)), 1.0)


def test_relion_aitom_converters_describe_the_same_pose():
    rng = np.random.default_rng(5)
    relion = rng.uniform([-180, 0, -180], [180, 180, 180], size=(10, 3))
    aitom = relion_to_aitom_euler(relion)
    np.testing.assert_allclose(
        aitom_euler_to_matrix(aitom), xyz_to_zyx_matrix(relion_euler_to_matrix_xyz(relion)),
        atol=1e-10,
    )
    np.testing.assert_allclose(
        relion_euler_to_matrix_xyz(aitom_to_relion_euler(aitom)),
        relion_euler_to_matrix_xyz(relion), atol=1e-10,
    )
