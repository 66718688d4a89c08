"""Particle centre and radius estimation against balls of known radius."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jimnet.align.centre import band_energy_profile, particle_radius_from_profile

N = 32


def noisy_balls(radius: float, count: int, snr: float, seed: int) -> torch.Tensor:
    """Solid balls of ``radius`` voxels at random periodic positions, plus white noise."""
    rng = np.random.default_rng(seed)
    axes = np.arange(N) - N // 2
    dist = np.sqrt(sum(a**2 for a in np.meshgrid(axes, axes, axes, indexing="ij")))
    ball = (dist <= radius).astype(np.float64)
    vols = []
    for _ in range(count):
        v = np.roll(ball, tuple(rng.integers(-5, 6, size=3)), axis=(0, 1, 2))
        v = v - v.mean()
        noise = rng.standard_normal(v.shape) * np.sqrt(v.var() / snr)
        vols.append(v + noise)
    return torch.as_tensor(np.stack(vols), dtype=torch.float32)


@pytest.mark.parametrize("radius", [5.0, 9.0])
def test_radius_of_noisy_balls(radius: float) -> None:
    vols = noisy_balls(radius, 40, snr=0.5, seed=1)
    profile = band_energy_profile(vols[:20], N / 4) + band_energy_profile(vols[20:], N / 4)
    estimate = particle_radius_from_profile(profile)
    # the band-passed energy of a sharp-edged ball spreads ~1–2 voxels past its edge
    assert radius <= estimate <= radius + 3


def test_profile_ignores_periodic_shifts() -> None:
    vols = noisy_balls(7.0, 4, snr=1.0, seed=2)
    shifted = torch.roll(vols, shifts=(3, -4, 5), dims=(1, 2, 3))
    torch.testing.assert_close(band_energy_profile(shifted, N / 4),
                               band_energy_profile(vols, N / 4), rtol=1e-4, atol=1e-3)


def test_profile_sums_batches() -> None:
    vols = noisy_balls(6.0, 6, snr=1.0, seed=3)
    whole = band_energy_profile(vols, N / 4)
    parts = band_energy_profile(vols[:2], N / 4) + band_energy_profile(vols[2:], N / 4)
    torch.testing.assert_close(whole, parts)
    assert whole[1].sum() == 6 * N**3
