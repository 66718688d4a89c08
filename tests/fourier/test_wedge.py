import math

import numpy as np
import pytest
import torch

from jimnet.fourier import (
    common_wedge_mask,
    frequency_magnitude,
    sphere_mask,
    tilt_rotation,
    wedge_mask,
    wedge_masks,
)
from jimnet.geometry import random_rotations
from jimnet.transform import rigid_transform


def _np_wedge(shape, tilt_min, tilt_max, rot=None):
    """Independent numpy reference on the shifted grid: (observed, ambiguous) boolean arrays.

    ``ambiguous`` flags samples within 1e-6° of a range boundary or on the tilt-axis line after
    rotation, where round-off may legitimately decide either way.
    """
    axes = [(np.arange(n) - n // 2) / n for n in shape]
    k = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    q = k if rot is None else k @ rot  # row-vector form of Rᵀ k
    qz, qx = q[..., 0], q[..., 2]
    beta = np.degrees(np.arctan2(qz, qx))  # (-180, 180]
    beta = np.where(beta > 90.0, beta - 180.0, beta)
    beta = np.where(beta <= -90.0, beta + 180.0, beta)  # (-90, 90]
    on_axis = np.hypot(qz, qx) <= 1e-12
    obs = ((beta >= tilt_min) & (beta <= tilt_max)) | ((beta == 90.0) & (tilt_min <= -90.0))
    obs = (obs | on_axis) & (np.linalg.norm(k, axis=-1) <= 0.5)
    near = np.minimum(np.abs(beta - tilt_min), np.abs(beta - tilt_max)) < 1e-6
    ambiguous = near | ((np.hypot(qz, qx) < 1e-9) & ~on_axis)
    return obs, ambiguous


@pytest.mark.parametrize("shape", [(32, 32, 32), (15, 16, 17)])
def test_pm60_matches_aitom_closed_form(shape):
    kz, ky, kx = np.meshgrid(*[(np.arange(n) - n // 2) / n for n in shape], indexing="ij")
    expected = (np.abs(kx) >= math.tan(math.radians(30)) * np.abs(kz))
    expected &= np.sqrt(kz**2 + ky**2 + kx**2) <= 0.5
    got = wedge_mask(shape, -60.0, 60.0, dtype=torch.float64).numpy()
    np.testing.assert_array_equal(got, expected.astype(float))
    # Without the sphere the closed form alone (the tilt-axis line k_z = k_x = 0 is observed).
    got = wedge_mask(shape, -60.0, 60.0, sphere=False).numpy()
    np.testing.assert_array_equal(got, (np.abs(kx) >= math.tan(math.radians(30)) * np.abs(kz)))


def test_special_lines_and_full_range():
    n = 16
    m = wedge_mask((n, n, n), -60, 60, sphere=False)
    assert torch.all(m[n // 2, :, n // 2] == 1)  # k_z = k_x = 0: tilt axis, always observed
    assert torch.all(m[[0, 3, 12], :, n // 2] == 0)  # k_x = 0, k_z ≠ 0: β = 90°, missing
    m90 = wedge_mask((n, n, n), -90, 30, sphere=False)
    assert torch.all(m90[[0, 3, 12], :, n // 2] == 1)  # the range reaches -90° ≡ 90°
    assert torch.all(wedge_mask((n, n, n), -90, 90, sphere=False) == 1)
    assert torch.all(wedge_mask((n, n, n), -90, 90) == sphere_mask((n, n, n)))


@pytest.mark.parametrize("shape", [(16, 16, 16), (15, 16, 17)])
def test_rotated_masks_match_numpy_reference(shape):
    rots = random_rotations(5, seed=7)
    lo = np.array([-60.0, -40.0, -90.0, -10.0, -45.0])
    hi = np.array([60.0, 60.0, 50.0, 70.0, 45.0])
    got = wedge_mask(shape, torch.from_numpy(lo), torch.from_numpy(hi), torch.from_numpy(rots))
    assert got.shape == (5, *shape) and got.dtype == torch.float64
    n_ambiguous = 0
    for i in range(5):
        expected, ambiguous = _np_wedge(shape, lo[i], hi[i], rots[i])
        n_ambiguous += ambiguous.sum()
        np.testing.assert_array_equal(got[i].numpy()[~ambiguous], expected[~ambiguous])
    assert n_ambiguous < 10
    # float32 geometry agrees as well (up to boundary ties).
    got32 = wedge_mask(shape, -40.0, 60.0, torch.from_numpy(rots[1]).float())
    expected, ambiguous = _np_wedge(shape, -40.0, 60.0, rots[1])
    assert got32.dtype == torch.float32
    assert np.mean(got32.numpy() != expected) < 1e-3


def test_unrotated_asymmetric_and_identity_rotation():
    shape = (16, 16, 16)
    expected, ambiguous = _np_wedge(shape, -40.0, 60.0)
    got = wedge_mask(shape, -40.0, 60.0, dtype=torch.float64).numpy()
    np.testing.assert_array_equal(got[~ambiguous], expected[~ambiguous])
    # ±45° boundaries are hit exactly by grid points (|k_z| = |k_x|) and count as observed.
    m45 = wedge_mask(shape, -45.0, 45.0)
    assert m45[8 + 3, 8, 8 + 3] == 1 and m45[8 - 3, 8, 8 + 3] == 1 and m45[8 + 4, 8, 8 + 3] == 0
    torch.testing.assert_close(wedge_mask(shape, -40.0, 60.0, torch.eye(3)),
                               wedge_mask(shape, -40.0, 60.0))


def test_layouts_agree():
    shape = (8, 10, 12)
    rot = torch.from_numpy(random_rotations(3, seed=2))
    args = (shape, torch.tensor([-40.0, -60.0, -30.0]).double(), 60.0, rot)
    shifted = wedge_mask(*args, layout="shifted")
    unshifted = wedge_mask(*args, layout="unshifted")
    rfft = wedge_mask(*args, layout="rfft")
    torch.testing.assert_close(shifted, torch.fft.fftshift(unshifted, dim=(-3, -2, -1)))
    torch.testing.assert_close(rfft, unshifted[..., : shape[-1] // 2 + 1])


def test_batched_per_particle_ranges_and_broadcasting():
    shape = (12, 12, 12)
    rots = torch.from_numpy(random_rotations(4, seed=5))
    lo = torch.tensor([-60.0, -50.0, -30.0, -70.0], dtype=torch.float64)
    hi = torch.tensor([60.0, 40.0, 60.0, 55.0], dtype=torch.float64)
    batched = wedge_mask(shape, lo, hi, rots)
    for i in range(4):
        single = wedge_mask(shape, float(lo[i]), float(hi[i]), rots[i])
        torch.testing.assert_close(batched[i], single)
    # Ranges only, or a single rotation shared by per-particle ranges.
    assert wedge_mask(shape, lo, hi).shape == (4, *shape)
    shared = wedge_mask(shape, lo, hi, rots[0])
    torch.testing.assert_close(shared[2], wedge_mask(shape, -30.0, 60.0, rots[0]))
    # Batched rotations, one range.
    torch.testing.assert_close(wedge_mask(shape, -60, 60, rots)[3], wedge_mask(shape, -60, 60,
                                                                                rots[3]))


def test_observed_and_missing_masks():
    shape = (16, 16, 16)
    rot = torch.from_numpy(random_rotations(2, seed=0))
    obs, miss = wedge_masks(shape, -60.0, 60.0, rot)
    torch.testing.assert_close(obs + miss, torch.ones_like(obs))  # Gum-Net: M_miss = 1 − M_obs
    obs2, miss_s = wedge_masks(shape, -60.0, 60.0, rot, missing_within_sphere=True)
    torch.testing.assert_close(obs2, obs)
    torch.testing.assert_close(obs + miss_s, sphere_mask(shape, dtype=torch.float64).expand(2, -1,
                                                                                          -1, -1))


def test_invalid_ranges_raise():
    with pytest.raises(ValueError, match="tilt ranges"):
        wedge_mask((8, 8, 8), 60.0, -60.0)
    with pytest.raises(ValueError, match="tilt ranges"):
        wedge_mask((8, 8, 8), torch.tensor([-60.0, -100.0]), 60.0)
    with pytest.raises(ValueError, match="D, H, W"):
        wedge_mask((8, 8), -60.0, 60.0)


def _filter(volume, mask_shifted):
    spectrum = torch.fft.fftshift(torch.fft.fftn(volume))
    return torch.fft.ifftn(torch.fft.ifftshift(spectrum * mask_shifted)).real


def test_rotating_a_wedge_filtered_volume_rotates_its_wedge():
    """Physical check with the pose warp: power of rigid_transform(v, R) stays in M_R."""
    n = 32
    shape = (n, n, n)
    kmag = frequency_magnitude(shape, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    vol = _filter(torch.randn(shape, generator=gen, dtype=torch.float64),
                  torch.exp(-(kmag**2) / (2 * 0.15**2)))
    c = torch.arange(n, dtype=torch.float64) - n // 2
    zz, yy, xx = torch.meshgrid(c, c, c, indexing="ij")
    vol = vol * torch.exp(-(zz**2 + yy**2 + xx**2) / (2 * 4.0**2))  # compact: rotation keeps it
    vol = _filter(vol, wedge_mask(shape, -50.0, 40.0, dtype=torch.float64))
    ring = (kmag >= 0.1) & (kmag <= 0.3)  # interior: away from DC smearing and interpolation loss
    leaks, wrong = [], []
    for rot in torch.from_numpy(random_rotations(4, seed=3)):
        power = torch.fft.fftn(rigid_transform(vol, rot)).abs() ** 2
        power = torch.fft.fftshift(power)[ring]
        total = power.sum()
        leaks.append(float((power * (wedge_mask(shape, -50, 40, rot)[ring] == 0)).sum() / total))
        wrong.append(float((power * (wedge_mask(shape, -50, 40, rot.T)[ring] == 0)).sum() / total))
    assert max(leaks) < 0.03, leaks
    assert np.mean(wrong) > 0.2, wrong


def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    idx = np.arange(n) - n // 2
    zz, yy, xx = np.meshgrid(idx, idx, idx, indexing="ij")
    vol = np.zeros((n, n, n))
    for _ in range(12):
        p, s, a = rng.uniform(-7, 7, 3), rng.uniform(1.2, 2.0), rng.uniform(0.5, 1.5)
        vol += a * np.exp(-((zz - p[0]) ** 2 + (yy - p[1]) ** 2 + (xx - p[2]) ** 2) / (2 * s * s))
    return vol


def _dft2_at(image, ky, kx):
    """2D DFT of ``image`` at arbitrary (k_y, k_x) pairs (cycles/voxel), phase origin N//2."""
    h, w = image.shape
    ph_y = np.exp(-2j * np.pi * np.outer(ky, np.arange(h) - h // 2))
    ph_x = np.exp(-2j * np.pi * np.outer(kx, np.arange(w) - w // 2))
    return np.einsum("ny,nx,yx->n", ph_y, ph_x, image)


def test_projection_slice_pins_the_tilt_sign():
    """Tilt α (rigid_transform by tilt_rotation(α), sum over z) samples (k_x, k_z) ∝ (cos α, sin α).

    α = 0: exact DFT identity. α = ±45°: the plane hits 3D grid points (±j, k_y, j); the
    projection's transform is evaluated at the matching detector frequency j·√2/N. Then the
    asymmetric range −40…+60 must mark the +45° plane observed and the −45° plane missing.
    """
    n = 32
    vol = _blobs(n, seed=0)
    spec3 = np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(vol)))  # phase origin N//2, DC at N//2
    c = n // 2

    proj0 = rigid_transform(torch.from_numpy(vol), tilt_rotation(0.0)).sum(0).numpy()
    spec2 = np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(proj0)))
    np.testing.assert_allclose(spec2, spec3[c], rtol=1e-10, atol=1e-8)

    js, kys = np.meshgrid(np.arange(1, 5), np.arange(-3, 4), indexing="ij")
    js, kys = js.ravel(), kys.ravel()
    mask = wedge_mask((n, n, n), -40.0, 60.0, dtype=torch.float64).numpy()
    for alpha in (45.0, -45.0):
        proj = rigid_transform(torch.from_numpy(vol), tilt_rotation(alpha)).sum(0).numpy()
        measured = _dft2_at(proj, kys / n, js * math.sqrt(2) / n)
        sign = 1 if alpha > 0 else -1
        predicted = spec3[c + sign * js, c + kys, c + js]
        mirrored = spec3[c - sign * js, c + kys, c + js]
        err = np.linalg.norm(measured - predicted) / np.linalg.norm(measured)
        err_mirror = np.linalg.norm(measured - mirrored) / np.linalg.norm(measured)
        assert err < 0.05 and err_mirror > 0.3, (alpha, err, err_mirror)
        expected_obs = 1.0 if -40.0 <= alpha <= 60.0 else 0.0
        assert np.all(mask[c + sign * js, c + kys, c + js] == expected_obs)


def test_tilt_rotation_is_right_handed_about_y():
    rot = tilt_rotation(90.0, dtype=torch.float64)
    # zyx vectors: +x (0, 0, 1) goes to -z, +z goes to +x under a right-handed turn about +y.
    torch.testing.assert_close(rot @ torch.tensor([0.0, 0, 1], dtype=torch.float64),
                               torch.tensor([-1.0, 0, 0], dtype=torch.float64))
    torch.testing.assert_close(rot @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
                               torch.tensor([0.0, 0, 1], dtype=torch.float64))
    assert tilt_rotation(torch.tensor([10.0, 20.0])).shape == (2, 3, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    rots = torch.from_numpy(random_rotations(3, seed=1)).float()
    lo = torch.tensor([-60.0, -40.0, -50.0])
    cpu = wedge_mask((16, 16, 16), lo, 60.0, rots)
    gpu = wedge_mask((16, 16, 16), lo.cuda(), 60.0, rots.cuda())
    assert gpu.device.type == "cuda"
    assert (gpu.cpu() != cpu).float().mean() < 1e-3


def test_common_wedge_mask_fraction_matches_the_angular_overlap():
    # The ±60° wedge covers 120° of the 180° of directions in the k_x–k_z plane. Turned 90° about
    # the tilt axis y it covers [30°, 150°], which overlaps the unturned wedge on 60° of 180°.
    # Inside the sphere the observed fraction is that angular fraction (closed form), ±grid error.
    shape = (32, 32, 32)
    quarter = torch.tensor([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    tilt = (-60.0, 60.0)
    inside = sphere_mask(shape, 0.5, "unshifted").bool()
    same = common_wedge_mask(shape, torch.eye(3), tilt, tilt)
    turned = common_wedge_mask(shape, quarter, tilt, tilt)
    torch.testing.assert_close(same, wedge_mask(shape, *tilt, layout="unshifted"))
    assert float(same[inside].mean()) == pytest.approx(2 / 3, abs=0.02)
    assert float(turned[inside].mean()) == pytest.approx(1 / 3, abs=0.02)
    np_obs, ambiguous = _np_wedge(shape, -60.0, 60.0, quarter.numpy().astype(float))
    np_common = np_obs & _np_wedge(shape, -60.0, 60.0)[0]
    got = torch.fft.fftshift(turned).numpy().astype(bool)
    assert (got == np_common)[~ambiguous].all()
