import numpy as np
import pytest
import torch

from jimnet.fourier import fourier_shift, shift_phase
from jimnet.transform import rigid_transform


@pytest.mark.parametrize("shape", [(8, 8, 8), (7, 8, 9)])
def test_integer_shifts_equal_roll(shape):
    gen = torch.Generator().manual_seed(0)
    vols = torch.randn(3, *shape, generator=gen, dtype=torch.float64)
    shifts = torch.tensor([[1, -2, 3], [0, 4, -1], [-3, 0, 5]], dtype=torch.float64)
    out = fourier_shift(vols, shifts)
    assert out.shape == vols.shape and out.dtype == torch.float64
    for i in range(3):
        expected = torch.roll(vols[i], [int(s) for s in shifts[i]], dims=(0, 1, 2))
        torch.testing.assert_close(out[i], expected, atol=1e-12, rtol=0)


def test_broadcast_one_volume_many_shifts_and_2d():
    vol = torch.randn(6, 6, 6, dtype=torch.float64)
    shifts = torch.tensor([[0.0, 0, 1], [0, 2, 0]], dtype=torch.float64)
    out = fourier_shift(vol, shifts)
    assert out.shape == (2, 6, 6, 6)
    torch.testing.assert_close(out[1], torch.roll(vol, 2, dims=1))
    img = torch.randn(4, 10, dtype=torch.float64)
    torch.testing.assert_close(fourier_shift(img, [1.0, -3.0], ndim=2),
                               torch.roll(img, (1, -3), dims=(0, 1)))


def _gaussian(n, centre, sigma, periodic=False):
    idx = torch.arange(n, dtype=torch.float64)
    zz, yy, xx = torch.meshgrid(idx, idx, idx, indexing="ij")
    wraps = (-n, 0, n) if periodic else (0,)
    out = torch.zeros(n, n, n, dtype=torch.float64)
    for wz in wraps:
        for wy in wraps:
            for wx in wraps:
                r2 = (zz - centre[0] - wz) ** 2 + (yy - centre[1] - wy) ** 2
                out += torch.exp(-(r2 + (xx - centre[2] - wx) ** 2) / (2 * sigma**2))
    return out


def test_subvoxel_shift_of_band_limited_blob_is_exact():
    n, sigma = 24, 2.0
    centre = torch.tensor([11.0, 12.0, 13.0], dtype=torch.float64)
    shift = torch.tensor([0.3, -1.7, 2.45], dtype=torch.float64)
    out = fourier_shift(_gaussian(n, centre, sigma, periodic=True), shift)
    expected = _gaussian(n, centre + shift, sigma, periodic=True)  # content wraps around
    torch.testing.assert_close(out, expected, atol=1e-8, rtol=0)


def test_subvoxel_shift_matches_rigid_transform_in_interior():
    n = 24
    gen = torch.Generator().manual_seed(3)
    vol = torch.zeros(n, n, n, dtype=torch.float64)
    for _ in range(6):
        offset = 4 * (torch.rand(3, generator=gen, dtype=torch.float64) - 0.5)
        vol += _gaussian(n, 12 + offset, 3.5)
    shift = torch.tensor([0.4, -0.75, 1.3], dtype=torch.float64)
    fs = fourier_shift(vol, shift)
    rt = rigid_transform(vol, torch.eye(3, dtype=torch.float64), shift)
    inner = (slice(4, -4),) * 3

    def rel(a):
        return float((a - rt)[inner].norm() / rt[inner].norm())

    # Residual is trilinear interpolation error (∝ 1/σ²); the opposite sign is far off.
    assert rel(fs) < 0.03 and rel(fourier_shift(vol, -shift)) > 0.3
    assert fs.dtype == torch.float64 and not fs.is_complex()


@pytest.mark.parametrize("shape", [(8, 8, 8), (7, 6, 5)])
def test_phase_is_hermitian_so_real_stays_real(shape):
    vol = torch.randn(*shape, dtype=torch.float64)
    shift = torch.tensor([0.37, -1.21, 2.5], dtype=torch.float64)
    full = torch.fft.ifftn(torch.fft.fftn(vol) * shift_phase(shape, shift, "unshifted"))
    assert full.imag.abs().max() < 1e-12
    torch.testing.assert_close(full.real, fourier_shift(vol, shift))
    unshifted = shift_phase(shape, shift, "unshifted")
    torch.testing.assert_close(shift_phase(shape, shift, "shifted"),
                               torch.fft.fftshift(unshifted, dim=(-3, -2, -1)))
    torch.testing.assert_close(shift_phase(shape, shift, "rfft"),
                               unshifted[..., : shape[-1] // 2 + 1])


def test_differentiable_wrt_shift_and_volume():
    vol = torch.randn(3, 5, 5, dtype=torch.float64, requires_grad=True)
    shift = torch.tensor([0.2, -0.4, 0.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fourier_shift, (vol, shift))
    # Shifting a volume and shifting it back is the identity (no Nyquist content: odd sizes).
    back = fourier_shift(fourier_shift(vol, shift), -shift)
    np.testing.assert_allclose(back.detach().numpy(), vol.detach().numpy(), atol=1e-12)
