"""Fourier resampling against scipy.signal.resample and analytic Gaussians."""

import numpy as np
import pytest
import torch
from scipy import signal

from jimnet.fourier import fourier_resample, resampled_voxel_size


def _gaussian(box: int, centre: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blob (zyx), band-limited enough that resampling is exact to ~1e-6."""
    grid = np.stack(np.meshgrid(*(np.arange(box),) * 3, indexing="ij"), -1)
    return np.exp(-((grid - centre) ** 2).sum(-1) / (2 * sigma**2))


@pytest.mark.parametrize(("n", "m"), [(24, 16), (16, 24), (20, 15), (15, 20)])
def test_matches_scipy_signal_resample_per_axis(n, m):
    # Even N, M: no centring shift, so the result is scipy's separable Fourier resampling.
    rng = np.random.default_rng(0)
    vol = rng.normal(size=(2, n, n, n))
    expected = vol
    for axis in (1, 2, 3):
        expected = signal.resample(expected, m, axis=axis)
    got = fourier_resample(torch.from_numpy(vol), m).numpy()
    if n % 2 == 0 and m % 2 == 0:
        np.testing.assert_allclose(got, expected, atol=1e-10)
    else:  # odd box: scipy keeps sample 0 fixed, jimnet the centre voxel; the energy agrees
        assert got.shape == expected.shape
        np.testing.assert_allclose((got**2).sum(), (expected**2).sum(), rtol=0.05)


@pytest.mark.parametrize(("n", "m"), [(48, 32), (33, 16), (45, 32), (24, 32), (31, 32)])
def test_gaussian_rescales_about_the_box_centre(n, m):
    # A Gaussian of width σ voxels centred off-centre at c (old voxels) must become, in the new
    # box, a Gaussian of width σ·M/N centred at M//2 + (c − N//2)·M/N: the analytic reference.
    offset = np.array([2.0, -1.5, 0.75])
    sigma = 1.8 * max(1.0, n / m)  # ≥ 1.8 voxels in both boxes: band-limited, no wrap-around
    vol = _gaussian(n, n // 2 + offset, sigma)
    scale = m / n
    expected = _gaussian(m, m // 2 + offset * scale, sigma * scale)
    got = fourier_resample(torch.from_numpy(vol), m).numpy()
    assert got.shape == (m, m, m)
    np.testing.assert_allclose(got, expected, atol=1e-3)  # a 1/10-voxel centre error: > 0.1


def test_constant_and_identity_and_dtype():
    vol = torch.full((1, 20, 20, 20), 3.0)
    out = fourier_resample(vol, 12)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.full((1, 12, 12, 12), 3.0))
    assert fourier_resample(vol, 20) is vol
    with pytest.raises(ValueError, match="cubic"):
        fourier_resample(torch.zeros(4, 5, 4), 3)


def test_voxel_size_keeps_the_physical_box():
    assert resampled_voxel_size(4.5, 48, 32) == pytest.approx(6.75)
    assert resampled_voxel_size(10.0, 32, 32) == 10.0
    assert 48 * 4.5 == pytest.approx(32 * resampled_voxel_size(4.5, 48, 32))
