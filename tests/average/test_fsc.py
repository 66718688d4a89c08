import math

import numpy as np
import pytest
import torch

from jimnet.average import compute_fsc, crossing_frequency, fsc_curve

N = 24


def _grid():
    ax = torch.arange(N, dtype=torch.float64)
    return torch.meshgrid(ax, ax, ax, indexing="ij")


def test_library_conventions_plane_waves():
    # Closed form: two plane waves of frequency 5/N along x with phases 0 and φ have
    # FSC = cos φ in shell 5 (and the shells are centred on rfftfreq(N)).
    _, _, x = _grid()
    phi = 1.1
    a = torch.cos(2 * math.pi * 5 * x / N)
    b = torch.cos(2 * math.pi * 5 * x / N + phi)
    freq, curve = fsc_curve(a, b)
    np.testing.assert_allclose(freq, np.fft.rfftfreq(N))
    assert curve.shape == (N // 2 + 1,)
    assert curve[0] == 1.0  # DC convention of the library
    assert abs(curve[5] - math.cos(phi)) < 1e-6


def test_identical_volumes_give_one():
    vol = torch.randn(N, N, N, generator=torch.Generator().manual_seed(0))
    _, curve = fsc_curve(vol, vol)
    np.testing.assert_allclose(curve, 1.0, atol=1e-6)


def test_noisy_copies_follow_snr_closed_form():
    # a = s + n1, b = s + n2 with white s, n: expected FSC = SNR / (1 + SNR) in every shell.
    g = torch.Generator().manual_seed(1)
    n = 32
    s = torch.randn(n, n, n, generator=g, dtype=torch.float64)
    snr = 0.5
    noise = math.sqrt(1.0 / snr)
    a = s + noise * torch.randn(n, n, n, generator=g, dtype=torch.float64)
    b = s + noise * torch.randn(n, n, n, generator=g, dtype=torch.float64)
    _, curve = fsc_curve(a, b)
    assert abs(float(np.mean(curve[4:])) - snr / (1 + snr)) < 0.015


def test_resolution_from_crossing_and_units():
    freq = np.fft.rfftfreq(20)  # 0 … 0.5 in steps of 0.05
    curve = np.clip(1.0 - 4.0 * freq, -1, 1)  # crosses 0.5 at 0.125 cycles/voxel
    assert abs(crossing_frequency(freq, curve, 0.5) - 0.125) < 1e-12
    assert crossing_frequency(freq, np.ones_like(freq), 0.143) is None
    vol = torch.randn(N, N, N, generator=torch.Generator().manual_seed(2))
    res = compute_fsc(vol, vol, voxel_size=12.0)
    assert res.reached_nyquist and res.resolution == 24.0
    text = res.to_csv().splitlines()
    assert text[0].startswith("frequency_per_voxel") and len(text) == N // 2 + 2
    with pytest.raises(ValueError):
        compute_fsc(vol, vol, voxel_size=0.0)
