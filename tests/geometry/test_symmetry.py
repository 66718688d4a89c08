"""Point groups and symmetry-aware rotation errors against scipy and closed forms."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from jimnet.geometry import random_rotations, rotation_error_frobenius, xyz_to_zyx_matrix
from jimnet.geometry.symmetry import (
    nearest_mate,
    normalise_symmetry,
    symmetric_rotation_error,
    symmetry_group,
)


@pytest.mark.parametrize(("name", "order"), [("C1", 1), ("c3", 3), ("D1", 2), ("D2", 4),
                                             ("d7", 14), ("T", 12), ("O", 24), ("I", 60)])
def test_groups_are_closed_have_the_right_order_and_start_with_the_identity(name, order):
    g = symmetry_group(name)
    assert g.shape == (order, 3, 3)
    np.testing.assert_allclose(g[0], np.eye(3), atol=1e-12)
    products = (g[:, None] @ g[None]).reshape(-1, 9)
    dist = np.abs(products[:, None] - g.reshape(1, -1, 9)).sum(-1).min(1)
    assert dist.max() < 1e-9  # g h is in the group for every pair


def test_groups_are_scipys_in_zyx_order():
    np.testing.assert_allclose(symmetry_group("D3"),
                               xyz_to_zyx_matrix(Rotation.create_group("D3").as_matrix()),
                               atol=1e-12)


@pytest.mark.parametrize("bad", ["C0", "D", "X2", "I2", "", "C-1"])
def test_bad_names_are_rejected(bad):
    with pytest.raises(ValueError, match="symmetry must be"):
        normalise_symmetry(bad)


def test_symmetric_error_is_the_minimum_over_mates_and_zero_for_a_mate():
    rng = np.random.default_rng(0)
    true = random_rotations(50, 1)
    group = symmetry_group("O")
    mates = true @ group[rng.integers(0, 24, 50)]
    assert symmetric_rotation_error(true, mates, "O").max() < 1e-9
    pred = random_rotations(50, 2)
    brute = np.min([rotation_error_frobenius(true @ g, pred) for g in group], axis=0)
    np.testing.assert_allclose(symmetric_rotation_error(true, pred, "O"), brute, atol=1e-12)
    np.testing.assert_allclose(symmetric_rotation_error(true, pred, "C1"),
                               rotation_error_frobenius(true, pred), atol=1e-12)
    assert (rotation_error_frobenius(nearest_mate(true, pred, "O"), pred)
            <= rotation_error_frobenius(true, pred) + 1e-12).all()
