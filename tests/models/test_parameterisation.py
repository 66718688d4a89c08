"""Pose parameterisations: round trips, the Jacobian at the identity, bounds and saturation."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from jimnet.geometry import matrix_to_rotvec, random_rotations, rotvec_to_matrix
from jimnet.losses import alignment_loss, box_guard, saturation_guard
from jimnet.models import JimNet3D, params_to_pose, pose_to_params, warp
from jimnet.models.heads import SATURATION_LEVEL, raw_outputs, saturation, shift_bound

SHAPE = (32, 32, 32)


def test_rotvec_matches_scipy_and_round_trips():
    omega = np.random.default_rng(0).normal(size=(6, 3))
    omega *= np.random.default_rng(1).uniform(0, 3.1, size=(6, 1)) / np.linalg.norm(omega, axis=1,
                                                                                     keepdims=True)
    omega[0] = 0.0
    omega[1] = [1e-5, -2e-5, 0.0]  # the small-angle series branch
    mat = rotvec_to_matrix(torch.from_numpy(omega)).numpy()
    np.testing.assert_allclose(mat, Rotation.from_rotvec(omega).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(matrix_to_rotvec(mat), omega, atol=1e-9)


@pytest.mark.parametrize("param", ["axis_angle", "euler"])
def test_pose_params_round_trip(param):
    rots = random_rotations(8, seed=2)
    bound = shift_bound(SHAPE, param)
    shifts = np.random.default_rng(3).uniform(-0.9, 0.9, size=(8, 3)) * bound
    p = pose_to_params(rots, shifts, SHAPE, param)
    rot, shift = params_to_pose(torch.from_numpy(p), SHAPE, param)
    np.testing.assert_allclose(rot.numpy(), rots, atol=1e-9)
    np.testing.assert_allclose(shift.numpy(), shifts, atol=1e-9)


def test_axis_angle_outputs_are_bounded_whatever_the_raw_values():
    raw = torch.randn(64, 6, dtype=torch.float64) * 100
    rot, shift = params_to_pose(raw, SHAPE, "axis_angle")
    angle = np.rad2deg(np.linalg.norm(matrix_to_rotvec(rot.numpy()), axis=1))
    assert (angle <= 180 + 1e-9).all()
    assert (shift.abs() <= 8.0).all()  # N/4
    assert shift_bound(SHAPE, "euler")[0] == 16.0 and shift_bound(SHAPE, "axis_angle", 5)[0] == 5


def _rotation_jacobian(param: str) -> torch.Tensor:
    identity = torch.full((6,), 0.5 if param == "euler" else 0.0, dtype=torch.float64)

    def f(rot_params):
        p = torch.cat([rot_params, identity[3:]])[None]
        return params_to_pose(p, SHAPE, param)[0].reshape(-1)

    return torch.autograd.functional.jacobian(f, identity[:3].clone())


def test_axis_angle_jacobian_has_full_rank_at_the_identity_and_euler_does_not():
    sv_axis = torch.linalg.svdvals(_rotation_jacobian("axis_angle"))
    sv_euler = torch.linalg.svdvals(_rotation_jacobian("euler"))
    # d R / d v at 0 is the skew map ×π: three equal singular values π·√2.
    torch.testing.assert_close(sv_axis, torch.full((3,), math.pi * math.sqrt(2),
                                                   dtype=torch.float64))
    assert sv_euler[1] > 1 and sv_euler[2] < 1e-9  # gimbal lock: rank 2


def test_saturation_measure():
    assert saturation(torch.zeros(2, 6), "axis_angle").max() == 0
    assert saturation(torch.full((2, 6), 0.5), "euler").max() == 0
    big = torch.full((1, 6), 50.0)
    assert (saturation(big, "axis_angle") > SATURATION_LEVEL).all()
    assert (saturation(torch.sigmoid(big), "euler") > SATURATION_LEVEL).all()


def test_saturation_guard_is_zero_inside_and_grows_outside():
    raw = torch.tensor([[0.0, 2.0, -2.5, 3.0, -4.0, 1.0]])
    torch.testing.assert_close(saturation_guard(raw), torch.tensor(0.25 + 2.25))
    p = torch.tensor([[3.0, 4.0, 0.0, 0.5, 0.0, 0.0]], requires_grad=True)
    raw_aa = raw_outputs(p, "axis_angle")  # (|v|, u)
    torch.testing.assert_close(raw_aa.detach(), torch.tensor([[5.0, 0.5, 0.0, 0.0]]))
    saturation_guard(raw_aa).backward()
    assert p.grad[0, 0] > 0 and p.grad[0, 1] > 0  # pushes |v| back down
    logits = raw_outputs(torch.sigmoid(raw), "euler")
    torch.testing.assert_close(logits, raw, atol=1e-4, rtol=0)
    shift = torch.tensor([[12.0, -13.0, 0.0]])
    torch.testing.assert_close(box_guard(shift, SHAPE), torch.tensor((1 / 16) ** 2))


def test_no_output_saturates_on_flat_loss_input():
    """Independent noise volumes carry no pose information (the loss is flat) while Adam's
    normalised steps still move the heads: with the guards (the trainer's default) the network
    must stay away from its bounds under a large learning rate."""
    torch.manual_seed(0)
    model = JimNet3D(width=0.03, n_clusters=2)
    opt = torch.optim.NAdam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(1)
    for _ in range(12):
        s, t = torch.randn(4, *SHAPE, generator=g), torch.randn(4, *SHAPE, generator=g)
        out = model(s, t)
        loss = alignment_loss(out.output, t) + alignment_loss(out.coarse_output, t)
        loss = loss + sum(saturation_guard(raw_outputs(st.params, "axis_angle"))
                          for st in out.stages)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(4, *SHAPE, generator=g), torch.randn(4, *SHAPE, generator=g))
    for stage in out.stages:
        assert saturation(stage.params, "axis_angle").max() < SATURATION_LEVEL
    assert out.shift.abs().max() <= 12.0  # N/4 + N/8: the particle stays in the box
    assert warp(torch.ones(4, *SHAPE), out.rotation, out.shift).mean() > 0.3
