import numpy as np
import pytest
import torch

from jimnet.fourier import wedge_mask
from jimnet.train.augment import (
    AugmentConfig,
    allowed_flips,
    augment,
    flip_volume,
    random_flips,
    random_intensity_scale,
    random_shifts,
    wedge_noise,
)

N = 16


def _wedged(tilt_min: float, tilt_max: float, n_vol: int = 4, seed: int = 0, n: int = N
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random volumes (n_vol, n, n, n) whose Fourier support is the wedge; and that mask."""
    mask = wedge_mask((n, n, n), tilt_min, tilt_max, sphere=False, layout="rfft",
                      dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    vols = torch.randn(n_vol, n, n, n, generator=g, dtype=torch.float64)
    return torch.fft.irfftn(torch.fft.rfftn(vols, dim=(1, 2, 3)) * mask, s=(n,) * 3,
                            dim=(1, 2, 3)), mask


def _leak(volumes: torch.Tensor, mask: torch.Tensor, skip_nyquist: bool = False) -> float:
    """Fraction of Fourier power outside the observed mask (the rfft half-space).

    ``skip_nyquist`` ignores the k_z and k_x Nyquist planes of an even box, where the sign of
    the frequency (hence the side of an asymmetric wedge) is undefined.
    """
    power = torch.fft.rfftn(volumes.double(), dim=(-3, -2, -1)).abs() ** 2
    outside = power * (1 - mask)
    if skip_nyquist:
        n = volumes.shape[-1]
        outside[..., n // 2, :, :] = 0
        outside[..., :, :, n // 2] = 0
    return float(outside.sum() / power.sum())


@pytest.mark.parametrize(("tilts", "symmetric", "n"), [((-60.0, 60.0), True, 16),
                                                       ((-50.0, 35.0), False, 15),
                                                       ((-50.0, 35.0), False, 16)])
def test_augmentation_keeps_the_fourier_support_inside_the_wedge(tilts, symmetric, n):
    vols, mask = _wedged(*tilts, n=n)
    skip = not symmetric and n % 2 == 0
    assert _leak(vols, mask, skip_nyquist=skip) < 1e-20  # the construction itself
    cfg = AugmentConfig(max_shift=2, noise_sigma=0.5, scale_range=0.2)
    for seed in range(6):
        g = torch.Generator().manual_seed(seed)
        out = augment(vols.float(), g, observed=mask.float(), symmetric_wedge=symmetric,
                      config=cfg)
        assert not torch.allclose(out.double(), vols, atol=1e-3)
        assert _leak(out, mask, skip_nyquist=skip) < 1e-10


def test_leak_detector_sees_forbidden_operations():
    """Controls: x-flips of an asymmetric wedge and white noise do leave the wedge."""
    vols, mask = _wedged(-50.0, 35.0, n=15)
    assert _leak(flip_volume(vols, (False, False, True)), mask) > 0.05
    assert _leak(flip_volume(vols, (True, False, False)), mask) > 0.05
    assert _leak(flip_volume(vols, (True, False, True)), mask) < 1e-20  # 180° about y
    noisy = vols + wedge_noise(vols.shape, torch.Generator().manual_seed(0)).double()
    assert _leak(noisy, mask) > 0.05


def test_allowed_flip_sets():
    assert len(allowed_flips(True)) == 8 and allowed_flips(True)[0] == (False,) * 3
    asym = set(allowed_flips(False))
    assert asym == {(False, False, False), (False, True, False), (True, False, True),
                    (True, True, True)}
    assert set(allowed_flips(False, proper_only=True)) == {(False, False, False),
                                                          (True, False, True)}
    assert all(sum(f) % 2 == 0 for f in allowed_flips(True, proper_only=True))
    assert len(allowed_flips(True, proper_only=True)) == 4


def test_random_flips_draw_every_allowed_flip_and_nothing_else():
    vol = torch.arange(8.0).reshape(1, 2, 2, 2)
    candidates = {f: flip_volume(vol[0], f) for f in allowed_flips(False)}
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(60):
        out = random_flips(vol, g, symmetric_wedge=[False])[0]
        match = [f for f, c in candidates.items() if torch.equal(out, c)]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == set(candidates)


def test_shifts_are_small_circular_rolls():
    vol = torch.randn(3, N, N, N, generator=torch.Generator().manual_seed(1))
    out = random_shifts(vol, torch.Generator().manual_seed(2), max_shift=2)
    rolls = [(a, b, c) for a in range(-2, 3) for b in range(-2, 3) for c in range(-2, 3)]
    for v, o in zip(vol, out, strict=True):
        assert any(torch.equal(torch.roll(v, r, dims=(0, 1, 2)), o) for r in rolls)
    assert torch.equal(random_shifts(vol, torch.Generator(), max_shift=0), vol)


def test_intensity_scale_range_and_noise_level():
    vol = torch.ones(200, 2, 2, 2)
    factors = random_intensity_scale(vol, torch.Generator().manual_seed(0), 0.1)[:, 0, 0, 0]
    assert float(factors.min()) >= 0.9 and float(factors.max()) <= 1.1
    assert float(factors.std()) > 0.04  # ≈ 0.2 / √12
    _, mask = _wedged(-60.0, 60.0)
    noise = wedge_noise((3, N, N, N), torch.Generator().manual_seed(0), mask)
    np.testing.assert_allclose(noise.flatten(1).std(dim=1).numpy(), 1.0, rtol=1e-5)
    vols, _ = _wedged(-60.0, 60.0, n_vol=2)
    vols = vols.float()
    cfg = AugmentConfig(max_shift=0, noise_sigma=0.3, scale_range=0.0)
    clean = augment(vols, torch.Generator().manual_seed(3), observed=mask,
                    config=AugmentConfig(max_shift=0, noise_sigma=0.0, scale_range=0.0))
    out = augment(vols, torch.Generator().manual_seed(3), observed=mask, config=cfg)
    ratio = (out - clean).flatten(1).std(dim=1) / vols.flatten(1).std(dim=1)
    np.testing.assert_allclose(ratio.numpy(), 0.3, rtol=1e-4)


def test_augment_is_a_function_of_the_generator_state():
    vols, mask = _wedged(-60.0, 60.0)
    a = augment(vols, torch.Generator().manual_seed(7), observed=mask)
    b = augment(vols, torch.Generator().manual_seed(7), observed=mask)
    c = augment(vols, torch.Generator().manual_seed(8), observed=mask)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
