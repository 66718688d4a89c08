import numpy as np
import pytest
import torch
from scipy import ndimage

from jimnet.geometry import compose_poses, invert_pose, random_rotations
from jimnet.transform import rigid_transform


def _scipy_pose(volume, rot, shift):
    # output[x] = input[Rᵀ(x − c − t) + c] = input[Rᵀ x + (c − Rᵀ(c + t))]
    c = np.array(volume.shape) // 2
    matrix = rot.T
    offset = c - matrix @ (c + shift)
    return ndimage.affine_transform(volume, matrix, offset=offset, order=1, mode="grid-constant",
                                    cval=0.0)


@pytest.mark.parametrize("shape", [(16, 16, 16), (15, 16, 17)])
def test_warp_matches_scipy_affine_transform(shape):
    rng = np.random.default_rng(0)
    vols = rng.normal(size=(3, *shape))
    rots = random_rotations(3, seed=1)
    shifts = rng.uniform(-3, 3, size=(3, 3))
    out = rigid_transform(torch.from_numpy(vols), torch.from_numpy(rots), torch.from_numpy(shifts))
    for i in range(3):
        np.testing.assert_allclose(out[i].numpy(), _scipy_pose(vols[i], rots[i], shifts[i]),
                                   atol=1e-9)


def test_pure_shift_moves_content_by_t_and_rotation_is_about_n_over_2():
    vol = torch.zeros(16, 16, 16, dtype=torch.float64)
    vol[8, 8, 8] = 1.0  # the centre N//2
    rot90 = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=torch.float64)
    assert rigid_transform(vol, rot90)[8, 8, 8] == 1.0  # the centre is fixed by any rotation
    moved = rigid_transform(vol, torch.eye(3, dtype=torch.float64), torch.tensor([2.0, -1.0, 3.0],
                            dtype=torch.float64))
    assert moved[10, 7, 11] == 1.0 and moved.sum() == 1.0


def test_rotation_direction_about_x_axis():
    # A point on +y (array axis 1) rotated by +90° about x (array axis 2) lands on +z.
    vol = torch.zeros(16, 16, 16, dtype=torch.float64)
    vol[8, 12, 8] = 1.0
    # zyx matrix of a right-handed +90° rotation about x: y → z.
    rot = torch.tensor([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]], dtype=torch.float64)
    out = rigid_transform(vol, rot)
    assert out[12, 8, 8] == pytest.approx(1.0)


def test_inverse_pose_recovers_smooth_volume():
    rng = np.random.default_rng(2)
    vol = ndimage.gaussian_filter(rng.normal(size=(24, 24, 24)), 2.0)
    vol *= np.exp(-np.sum((np.indices(vol.shape) - 12.0) ** 2, axis=0) / 30.0)
    v = torch.from_numpy(vol)
    rot = torch.from_numpy(random_rotations(1, seed=3)[0])
    shift = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64)
    back = rigid_transform(rigid_transform(v, rot, shift), *invert_pose(rot, shift))
    corr = np.corrcoef(back.numpy().ravel(), vol.ravel())[0, 1]
    assert corr > 0.98


def test_composition_equals_sequential_warp_for_smooth_volume():
    rng = np.random.default_rng(4)
    vol = torch.from_numpy(ndimage.gaussian_filter(rng.normal(size=(20, 20, 20)), 2.5))
    r1, r2 = (torch.from_numpy(r) for r in random_rotations(2, seed=5))
    t1 = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    t2 = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)
    seq = rigid_transform(rigid_transform(vol, r1, t1), r2, t2)
    once = rigid_transform(vol, *compose_poses(r2, t2, r1, t1))
    inner = (slice(6, 14),) * 3
    # Two interpolations blur a little more than one, so compare shapes, not exact values.
    corr = np.corrcoef(seq[inner].numpy().ravel(), once[inner].numpy().ravel())[0, 1]
    assert corr > 0.99


def test_warp_is_differentiable_wrt_pose_and_volume():
    vol = torch.randn(1, 8, 8, 8, dtype=torch.float64, requires_grad=True)
    rot = torch.from_numpy(random_rotations(1, seed=0)).requires_grad_(True)
    shift = torch.tensor([[0.3, -0.2, 0.1]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, r, t: rigid_transform(v, r, t), (vol, rot, shift))
