import math

import numpy as np
import torch

from jimnet.align.so3_grid import (
    axis_angle_to_matrix,
    grid_size,
    local_rotations,
    rotation_angle_between,
    select_peaks,
    uniform_rotations,
)
from jimnet.geometry import random_rotations


def test_grid_size_matches_cell_volume():
    assert grid_size(15.0) == math.ceil(8 * math.pi**2 / math.radians(15.0) ** 3) == 4401
    assert grid_size(30.0) < grid_size(20.0) < grid_size(10.0)


def test_uniform_grid_is_rotations_and_covers_so3():
    grid = uniform_rotations(30.0)
    assert grid.shape == (grid_size(30.0), 3, 3)
    eye = np.broadcast_to(np.eye(3), grid.shape)
    np.testing.assert_allclose(grid @ np.swapaxes(grid, 1, 2), eye, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(grid), 1.0, atol=1e-12)
    probe = torch.as_tensor(random_rotations(500, 0))
    ang = rotation_angle_between(probe[:, None], torch.as_tensor(grid)[None]).min(1).values
    # covering radius ≈ 0.9 step; mean nearest distance ≈ half a step
    assert math.degrees(float(ang.max())) < 30.0
    assert 10.0 < math.degrees(float(ang.mean())) < 20.0


def test_local_rotations_identity_first_and_step():
    centre = torch.as_tensor(random_rotations(2, 1))
    loc = local_rotations(centre, 2.0)
    assert loc.shape == (2, 27, 3, 3)
    torch.testing.assert_close(loc[:, 0], centre)
    ang = torch.rad2deg(rotation_angle_between(loc, centre[:, None]))
    assert torch.allclose(ang[:, 1:7], torch.full((2, 6), 2.0, dtype=ang.dtype), atol=1e-6)
    assert float(ang.max()) < 2.0 * math.sqrt(3) + 1e-6
    per = local_rotations(centre, torch.tensor([1.0, 3.0], dtype=torch.float64))
    ang = torch.rad2deg(rotation_angle_between(per[:, 1], centre))
    torch.testing.assert_close(ang, torch.tensor([1.0, 3.0], dtype=torch.float64))


def test_axis_angle_small_and_large():
    omega = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, math.pi / 2]], dtype=torch.float64)
    m = axis_angle_to_matrix(omega)
    torch.testing.assert_close(m[0], torch.eye(3, dtype=torch.float64))
    torch.testing.assert_close(m[1] @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                               torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))


def test_select_peaks_suppresses_neighbours():
    grid = torch.as_tensor(uniform_rotations(30.0))
    quarter = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]],
                           dtype=torch.float64)
    targets = torch.stack([torch.eye(3, dtype=torch.float64), quarter])
    # a smooth score with two bumps
    d0 = rotation_angle_between(grid, targets[0])
    d1 = rotation_angle_between(grid, targets[1])
    score = torch.exp(-(d0**2) / 0.1) + 0.8 * torch.exp(-(d1**2) / 0.1)
    idx = select_peaks(grid, score[None], 2, 45.0)[0]
    assert idx.shape == (2,)
    for t in targets:  # each bump has one pick near it (order depends on the grid)
        ang = torch.rad2deg(rotation_angle_between(grid[idx], t))
        assert int((ang < 30.0).sum()) == 1
