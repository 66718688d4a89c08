"""Affine / TPS / composition conventions of jimnet.transform.warp2d."""

import numpy as np
import torch

from jimnet.transform.warp2d import (
    affine_points,
    compose_points,
    identity_affine,
    identity_tps,
    invert_points,
    pixel_to_unit,
    random_affine,
    random_tps,
    tps_control_points,
    tps_points,
    transform_grid,
    unit_to_pixel,
    warp_image,
)


def _points(n=50, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).uniform(-1, 1, (1, n, 2)))


def test_tps_identity_parameters_give_the_identity():
    pts = _points()
    out = tps_points(identity_tps(1, dtype=torch.float64), pts)
    torch.testing.assert_close(out, pts, atol=1e-10, rtol=0)
    img = torch.rand(1, 3, 17, 23, dtype=torch.float64)
    grid = transform_grid(17, 23, theta_tps=identity_tps(1, dtype=torch.float64))
    torch.testing.assert_close(warp_image(img, grid), img, atol=1e-10, rtol=0)


def test_tps_interpolates_control_points_and_reproduces_an_affine():
    rng = np.random.default_rng(1)
    theta = random_tps(2, rng, magnitude=0.2).double()
    c = tps_control_points(3, dtype=torch.float64).expand(2, -1, -1)
    torch.testing.assert_close(tps_points(theta, c), theta.reshape(2, 2, 9).transpose(1, 2))
    # control points moved by an affine → the TPS is that affine everywhere (zero bending)
    aff = random_affine(1, rng).double()
    moved = affine_points(aff, c[:1])
    theta_aff_as_tps = torch.cat([moved[..., 0], moved[..., 1]], dim=1)
    pts = _points(seed=2)
    torch.testing.assert_close(tps_points(theta_aff_as_tps, pts), affine_points(aff, pts))


def test_affine_grid_matches_torch_affine_grid():
    theta = random_affine(2, np.random.default_rng(3))
    ours = transform_grid(11, 13, theta_aff=theta)
    ref = torch.nn.functional.affine_grid(theta, (2, 1, 11, 13), align_corners=True)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)


def test_composed_warp_equals_sequential_warping():
    rng = np.random.default_rng(4)
    aff = random_affine(1, rng, rotation_deg=10, translation=0.05).double()
    tps = random_tps(1, rng, magnitude=0.05).double()
    # points: A∘T in one go = T then A
    pts = _points(seed=5)
    torch.testing.assert_close(compose_points(aff, tps, pts),
                               affine_points(aff, tps_points(tps, pts)))
    # images: a smooth image warped by A, then the result by T ≈ one warp by A∘T (bilinear
    # resampling twice differs by interpolation error only; compared away from the borders)
    n = 96
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, n, dtype=torch.float64),
                            torch.linspace(-1, 1, n, dtype=torch.float64), indexing="ij")
    img = (torch.sin(3 * xx) * torch.cos(2 * yy) + xx * yy)[None, None]
    once = warp_image(img, transform_grid(n, n, aff, tps))
    twice = warp_image(warp_image(img, transform_grid(n, n, theta_aff=aff)),
                       transform_grid(n, n, theta_tps=tps))
    inner = (slice(None), slice(None), slice(20, -20), slice(20, -20))
    assert (once[inner] - twice[inner]).abs().max() < 2e-3
    # and the order matters: T then A is not A then T
    other = warp_image(warp_image(img, transform_grid(n, n, theta_tps=tps)),
                       transform_grid(n, n, theta_aff=aff))
    assert (once[inner] - other[inner]).abs().max() > 1e-2


def test_pixel_unit_round_trip_and_corners():
    size = torch.tensor([50, 80])
    corners = torch.tensor([[[1.0, 1.0], [80.0, 50.0]]])
    torch.testing.assert_close(pixel_to_unit(corners, size), torch.tensor([[[-1.0, -1.0],
                                                                            [1.0, 1.0]]]))
    pts = torch.rand(1, 7, 2) * 70 + 1
    torch.testing.assert_close(unit_to_pixel(pixel_to_unit(pts, size), size), pts)


def test_invert_points():
    rng = np.random.default_rng(6)
    aff, tps = random_affine(1, rng).double(), random_tps(1, rng, magnitude=0.08).double()
    y = _points(seed=7) * 0.5
    x = invert_points(aff, tps, y)
    torch.testing.assert_close(compose_points(aff, tps, x), y, atol=1e-6, rtol=0)
    torch.testing.assert_close(identity_affine(2)[1], torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]))
