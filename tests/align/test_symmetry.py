"""Alignment to a point-group-symmetric reference with ``AlignParams.symmetry``."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from jimnet.align import AlignParams, align_to_reference
from jimnet.align.so3_grid import asymmetric_unit, select_peaks, uniform_rotations
from jimnet.evaluate.poses import absolute_pose_errors
from jimnet.geometry import random_rotations
from jimnet.geometry.symmetry import symmetric_rotation_error, symmetry_group
from jimnet.simulate.symmetric import symmetric_blobs
from tests.align.helpers import add_noise, posed, wedge_filter

N = 24
FAST = AlignParams(angular_step=25.0, n_candidates=4, n_peaks=40, max_freq=0.4)


@pytest.mark.parametrize("method", ["ht", "fa"])
def test_d2_object_aligned_with_symmetry_scores_near_zero_to_the_nearest_mate(method):
    ref = torch.from_numpy(symmetric_blobs(N, "D2", seed=4, extent=0.18))
    rots = random_rotations(3, 11)
    shifts = np.array([[1.0, -1.5, 0.5], [0.0, 2.0, -1.0], [-1.5, 0.5, 1.0]])
    parts = torch.stack([
        add_noise(wedge_filter(posed(ref, torch.as_tensor(r, dtype=torch.float32),
                                     torch.as_tensor(t, dtype=torch.float32)), (-50.0, 50.0)),
                  10.0, 20 + i)
        for i, (r, t) in enumerate(zip(rots, shifts, strict=True))])
    res = align_to_reference(parts, ref, [(-50.0, 50.0)] * 3, method=method,
                             params=replace(FAST, symmetry="D2"))
    aware, shift_err = absolute_pose_errors(res.rotation.numpy(), res.shift.numpy(), rots,
                                            shifts, "D2")
    plain, _ = absolute_pose_errors(res.rotation.numpy(), res.shift.numpy(), rots, shifts)
    assert aware.max() < 0.1 and shift_err.max() < 0.5
    # the search returns the mate in the identity's cell, not the drawn pose: plain error large
    assert plain.mean() > 1.0


def test_asymmetric_unit_holds_one_mate_of_every_grid_rotation():
    grid = torch.as_tensor(uniform_rotations(20.0))
    group = torch.as_tensor(symmetry_group("D2"))
    unit = asymmetric_unit(grid, group)
    assert abs(len(unit) / len(grid) - 1 / 4) < 0.03
    # every rotation of SO(3) has a mate within about one grid cell of the unit
    probe = random_rotations(200, 5)
    mates = probe[:, None] @ group.numpy()  # (200, 4, 3, 3)
    err = symmetric_rotation_error(unit.numpy()[None, None], mates[:, :, None], None)
    assert err.min(axis=(1, 2)).max() < 2 * np.sqrt(2) * np.sin(np.radians(20.0) / 2) * 1.5


def test_peaks_that_are_symmetry_mates_count_once():
    group = torch.as_tensor(symmetry_group("C2"))
    rot = torch.as_tensor(random_rotations(1, 2), dtype=torch.float64)
    grid = torch.cat([rot, rot @ group[1:], torch.as_tensor(random_rotations(1, 3))])
    scores = torch.tensor([[3.0, 2.9, 1.0]])  # a peak, its mate, a distinct rotation
    assert select_peaks(grid, scores, 2, 10.0).tolist() == [[0, 1]]
    assert select_peaks(grid, scores, 2, 10.0, group).tolist() == [[0, 2]]
