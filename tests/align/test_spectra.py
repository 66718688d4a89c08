import torch

from jimnet.align.spectra import (
    centred_spectrum,
    fourier_points,
    sample_rotated,
    soft_sphere,
    working_box,
)
from jimnet.geometry import random_rotations
from jimnet.transform import rigid_transform
from tests.align.helpers import make_blob


def test_fourier_points_hermitian_weights_give_full_sums():
    n = 16
    vol = torch.randn(n, n, n, generator=torch.Generator().manual_seed(0))
    pts = fourier_points(n, 0.0, 7.0)
    half = torch.fft.rfftn(vol).flatten()[pts.index]
    full = torch.fft.fftn(vol)
    k = torch.fft.fftfreq(n, d=1.0 / n)
    r = (k[:, None, None] ** 2 + k[None, :, None] ** 2 + k[None, None, :] ** 2).sqrt()
    expected = (full.abs() ** 2)[r <= 7.0 + 1e-9].sum()
    torch.testing.assert_close((pts.weight * half.abs() ** 2).sum(), expected, rtol=1e-5, atol=0)
    assert bool((pts.k[:, 2] >= 0).all())


def test_working_box_holds_band():
    for r in (3.0, 5.7, 11.2):
        m = working_box(r)
        assert m % 2 == 0 and r < m / 2


def _sampled_and_warped(vol, rot, r_lo, r_hi):
    n = vol.shape[-1]
    pts = fourier_points(n, r_lo, r_hi)
    spec = centred_spectrum(vol[None], 2, gridding=True)
    grid = torch.stack([spec.real, spec.imag], 1)
    vals = sample_rotated(grid, pts.k, rot[None], 2.0)[0]
    sampled = torch.complex(vals[:, 0], vals[:, 1])
    warped = centred_spectrum(rigid_transform(vol.expand(rot.shape[0], n, n, n), rot), 1)
    idx = pts.k.round().long() + n // 2
    direct = warped[:, idx[:, 0], idx[:, 1], idx[:, 2]]
    return (sampled - direct).abs().norm(dim=-1) / direct.abs().norm(dim=-1)


def test_rotated_spectrum_matches_direct_fourier_sum():
    # Independent closed form: V(Rᵀk) = Σ_x v(x) exp(−2πi (Rᵀk)·(x − c)/N), summed directly.
    n = 20
    vol = make_blob(n, 3).double()
    rot = torch.as_tensor(random_rotations(2, 4))
    pts = fourier_points(n, 1.0, 8.0, dtype=torch.float64)
    ax = torch.arange(n, dtype=torch.float64) - n // 2
    x = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)
    q = pts.k @ rot  # row form of Rᵀk, (2, n_pts, 3)
    exact = torch.exp(-2j * torch.pi * (q @ x.T) / n) @ vol.reshape(-1).to(torch.complex128)
    spec = centred_spectrum(vol[None], 2, gridding=True)
    vals = sample_rotated(torch.stack([spec.real, spec.imag], 1), pts.k, rot[None], 2.0)[0]
    sampled = torch.complex(vals[:, 0], vals[:, 1])
    err = (sampled - exact).abs().norm(dim=-1) / exact.abs().norm(dim=-1)
    assert float(err.max()) < 0.03


def test_rotated_spectrum_matches_real_space_warp_at_low_frequency():
    # General rotations: trilinear real-space warping is accurate only at low frequency.
    n = 24
    vol = make_blob(n, 3, n_gauss=7, sigma=1.6)
    rot = torch.as_tensor(random_rotations(2, 4), dtype=torch.float32)
    assert float(_sampled_and_warped(vol, rot, 1.0, 3.0).max()) < 0.05


def test_soft_sphere_profile():
    m = soft_sphere((16, 16, 16), 6.0, 2.0)
    assert float(m[8, 8, 8]) == 1.0 and float(m[8, 8, 15]) == 0.0
    assert 0.0 < float(m[8, 8, 13]) < 1.0
