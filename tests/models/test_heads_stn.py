import math

import numpy as np
import pytest
import torch

from jimnet.geometry import aitom_euler_to_matrix, compose_poses, random_rotations
from jimnet.losses import alignment_loss, rigid_regularization
from jimnet.models import (
    RigidParamHead,
    RigidSTN3d,
    params_to_angles,
    params_to_normalised_shift,
    params_to_pose,
    pose_to_params,
    voxel_to_normalised_shift,
    warp,
    wedge_imputation,
)
from jimnet.transform import rigid_transform


def test_half_is_identity_pose():
    rot, shift = params_to_pose(torch.full((3, 6), 0.5, dtype=torch.float64), (32, 32, 32))
    torch.testing.assert_close(rot, torch.eye(3, dtype=torch.float64).expand(3, 3, 3))
    torch.testing.assert_close(shift, torch.zeros(3, 3, dtype=torch.float64))


def test_parameterisation_values():
    p = torch.tensor([[0.75, 0.5, 0.25, 1.0, 0.0, 0.625]], dtype=torch.float64)
    angles = params_to_angles(p)
    torch.testing.assert_close(angles, torch.tensor([[math.pi / 2, 0.0, -math.pi / 2]],
                                                    dtype=torch.float64))
    tau = params_to_normalised_shift(p)
    torch.testing.assert_close(tau, torch.tensor([[1.0, -1.0, 0.25]], dtype=torch.float64))
    rot, shift = params_to_pose(p, (32, 32, 16))
    torch.testing.assert_close(rot, aitom_euler_to_matrix(angles))
    torch.testing.assert_close(shift, torch.tensor([[16.0, -16.0, 2.0]], dtype=torch.float64))
    torch.testing.assert_close(voxel_to_normalised_shift(shift, (32, 32, 16)), tau)


def test_pose_to_params_round_trip():
    rots = random_rotations(5, seed=0)
    shifts = np.random.default_rng(0).uniform(-10, 10, size=(5, 3))
    p = pose_to_params(rots, shifts, (32, 32, 32))
    assert p.shape == (5, 6) and (p >= 0).all() and (p <= 1).all()
    rot, shift = params_to_pose(torch.from_numpy(p), (32, 32, 32))
    np.testing.assert_allclose(rot.numpy(), rots, atol=1e-10)
    np.testing.assert_allclose(shift.numpy(), shifts, atol=1e-10)


def test_head_initialisations():
    x = torch.randn(4, 10)
    ident = RigidParamHead(10, init="identity")
    torch.testing.assert_close(ident(x), torch.full((4, 6), 0.5))
    gum = RigidParamHead(10, init="gumnet")
    assert gum.linear.weight.abs().max() == 0
    b = gum.linear.bias
    assert (b >= -0.5).all() and (b < 0.5).all() and b.abs().max() > 0
    out = gum(x)
    torch.testing.assert_close(out, torch.sigmoid(b).expand(4, 6))
    with pytest.raises(ValueError, match="init"):
        RigidParamHead(3, init="zeros")


def test_stn_with_known_pose_equals_foundation_transform(smooth32):
    vol = smooth32[None].repeat(2, 1, 1, 1)
    rots = random_rotations(2, seed=4)
    shifts = np.array([[2.5, -3.0, 1.0], [0.0, 4.0, -6.5]])
    params = torch.from_numpy(pose_to_params(rots, shifts, (32, 32, 32)))
    warped, rot, shift = RigidSTN3d()(vol, params)
    torch.testing.assert_close(rot, torch.from_numpy(rots))
    expected = rigid_transform(vol, torch.from_numpy(rots), torch.from_numpy(shifts))
    torch.testing.assert_close(warped, expected, atol=1e-9, rtol=0)
    torch.testing.assert_close(shift, torch.from_numpy(shifts))


def test_warp_multichannel_uses_each_samples_pose():
    vol = torch.randn(2, 3, 8, 8, 8, dtype=torch.float64)
    rot = torch.from_numpy(random_rotations(2, seed=1))
    shift = torch.randn(2, 3, dtype=torch.float64)
    out = warp(vol, rot, shift)
    for b in range(2):
        for c in range(3):
            torch.testing.assert_close(out[b, c], rigid_transform(vol[b, c], rot[b], shift[b]))
    with pytest.raises(ValueError, match="volume"):
        warp(torch.zeros(8, 8, 8), rot, shift)


def test_stn_compose_matches_two_warps_on_smooth_volume(smooth32):
    vol = smooth32[None]
    r1, r2 = (torch.from_numpy(r[None]) for r in random_rotations(2, seed=7))
    t1 = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    t2 = torch.tensor([[0.5, 1.0, -1.0]], dtype=torch.float64)
    twice = warp(warp(vol, r1, t1), r2, t2)
    once = warp(vol, *compose_poses(r2, t2, r1, t1))
    mask = torch.zeros_like(vol, dtype=torch.bool)
    mask[:, 6:26, 6:26, 6:26] = True
    corr = np.corrcoef(twice[mask].numpy(), once[mask].numpy())[0, 1]
    assert corr > 0.99


def test_gradcheck_stn_imputation_and_rigid_regularisation():
    torch.manual_seed(0)
    n = 5
    shape = (n, n, n)
    source = torch.randn(2, *shape, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, *shape, dtype=torch.float64, requires_grad=True)
    params = (0.5 + 0.2 * torch.rand(2, 6, dtype=torch.float64) - 0.1).requires_grad_(True)

    def fn(src, tgt, p):
        rot, shift = params_to_pose(p, shape)
        warped = warp(src, rot, shift)
        out = wedge_imputation(warped, tgt, rot, (-60.0, 45.0))
        reg = rigid_regularization(rot, voxel_to_normalised_shift(shift, shape))
        return out, reg

    assert torch.autograd.gradcheck(fn, (source, target, params), eps=1e-6, atol=1e-6,
                                    fast_mode=True)


def test_gradcheck_regularisation_direct():
    rot = torch.from_numpy(random_rotations(3, seed=2)).requires_grad_(True)
    shift = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rigid_regularization, (rot, shift))


def test_gradcheck_full_mode_pose_parameters_through_loss():
    """Full Jacobian check w.r.t. the pose parameters of alignment loss + L_R."""
    torch.manual_seed(1)
    shape = (6, 6, 6)
    source = torch.randn(2, *shape, dtype=torch.float64)
    target = torch.randn(2, *shape, dtype=torch.float64)
    params = (0.5 + 0.2 * torch.rand(2, 6, dtype=torch.float64) - 0.1).requires_grad_(True)

    def fn(p):
        rot, shift = params_to_pose(p, shape)
        out = wedge_imputation(warp(source, rot, shift), target, rot, (-60.0, 60.0))
        reg = rigid_regularization(rot, voxel_to_normalised_shift(shift, shape), reduction="mean")
        return alignment_loss(out, target) + 0.1 * reg

    assert torch.autograd.gradcheck(fn, (params,), eps=1e-6, atol=1e-7)
