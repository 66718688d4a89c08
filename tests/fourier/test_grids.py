import numpy as np
import pytest
import torch

from jimnet.fourier import (
    LAYOUTS,
    fourier_shape,
    frequency_axes,
    frequency_grid,
    frequency_magnitude,
    sphere_mask,
)

SHAPES = [(8, 8, 8), (5, 6, 7), (6, 9)]


@pytest.mark.parametrize("shape", SHAPES)
def test_layouts_agree(shape):
    dims = tuple(range(-len(shape), 0))
    unshifted = frequency_grid(shape, "unshifted", dtype=torch.float64)
    shifted = frequency_grid(shape, "shifted", dtype=torch.float64)
    rfft = frequency_grid(shape, "rfft", dtype=torch.float64)
    torch.testing.assert_close(shifted, torch.fft.fftshift(unshifted, dim=[d - 1 for d in dims]))
    w = shape[-1] // 2 + 1
    torch.testing.assert_close(rfft, unshifted[..., :w, :])
    real = torch.zeros(shape)
    assert fourier_shape(shape, "rfft") == tuple(torch.fft.rfftn(real).shape)
    for layout in LAYOUTS:
        mag = frequency_magnitude(shape, layout, dtype=torch.float64)
        grid = frequency_grid(shape, layout, dtype=torch.float64)
        torch.testing.assert_close(mag, grid.norm(dim=-1))


@pytest.mark.parametrize("shape", SHAPES)
def test_shifted_dc_at_n_over_2_and_axis_order(shape):
    grid = frequency_grid(shape, "shifted", dtype=torch.float64)
    centre = tuple(n // 2 for n in shape)
    assert torch.all(grid[centre] == 0)
    for i, n in enumerate(shape):
        step = [0] * len(shape)
        step[i] = 1
        nxt = tuple(c + s for c, s in zip(centre, step, strict=True))
        if nxt[i] < n:
            expected = torch.zeros(len(shape), dtype=torch.float64)
            expected[i] = 1.0 / n  # component i is the frequency along array axis i
            torch.testing.assert_close(grid[nxt], expected)


def test_unshifted_matches_fftfreq_and_axes_broadcast():
    shape = (4, 6, 10)
    kz, ky, kx = frequency_axes(shape, "unshifted", dtype=torch.float64)
    assert kz.shape == (4, 1, 1) and ky.shape == (1, 6, 1) and kx.shape == (1, 1, 10)
    np.testing.assert_allclose(kx.flatten().numpy(), np.fft.fftfreq(10))
    _, _, kxr = frequency_axes(shape, "rfft", dtype=torch.float64)
    # Same samples as rfftfreq; the Nyquist one is labelled -0.5 (fftfreq) rather than +0.5.
    np.testing.assert_allclose(kxr.flatten().abs().numpy(), np.fft.rfftfreq(10))
    np.testing.assert_allclose(kxr.flatten().numpy(), np.fft.fftfreq(10)[:6])


def test_sphere_mask_radius_and_bad_layout():
    m = sphere_mask((16, 16, 16))
    assert m[8, 8, 0] == 1.0 and m[0, 0, 0] == 0.0  # |k| = 0.5 kept, corner dropped
    assert m.sum() == (frequency_magnitude((16, 16, 16)) <= 0.5).sum()
    with pytest.raises(ValueError, match="layout"):
        frequency_grid((4, 4), "centered")  # type: ignore[arg-type]
