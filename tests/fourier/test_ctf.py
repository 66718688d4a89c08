import math

import numpy as np
import pytest
import torch

from jimnet.fourier import ctf, ctf_grid, electron_wavelength_nm, frequency_magnitude


def test_wavelength_literature_values():
    assert electron_wavelength_nm(300.0) == pytest.approx(1.9687e-3, rel=2e-4)
    assert electron_wavelength_nm(200.0) == pytest.approx(2.5079e-3, rel=2e-4)
    t = electron_wavelength_nm(torch.tensor([300.0], dtype=torch.float64))
    assert float(t[0]) == pytest.approx(electron_wavelength_nm(300.0))


def _defocus_only_constants(voltage_kv, defocus_um, pixel_nm, sigma):
    """χ ≈ a·k² (the Cs term is ~1e-5 rad here) and the envelope exp(−s·k²)."""
    volts = voltage_kv * 1e3
    lam_nm = math.sqrt(150.4 / (volts * (1 + volts / 1.022e6))) * 0.1
    a = math.pi * abs(defocus_um) * 1e3 * lam_nm
    s = 1.0 / (sigma / (2 * pixel_nm)) ** 2
    return a, s


@pytest.mark.parametrize(
    ("voltage", "cs", "dz", "pixel", "k_peak_spec", "value_spec"),
    [(300.0, 2.7, -2.0, 1.2, 0.16, 0.12), (300.0, 2.0, -5.0, 1.0, 0.17, 0.38)],
)
def test_peak_of_ctf_times_envelope_matches_closed_form(voltage, cs, dz, pixel, k_peak_spec,
                                                        value_spec):
    # d/du [sin(a u) e^{−s u}] = 0 with u = k²  ⇒  tan(a u) = a / s.
    a, s = _defocus_only_constants(voltage, dz, pixel, 0.4)
    u = math.atan(a / s) / a
    k_closed, v_closed = math.sqrt(u), math.sin(a * u) * math.exp(-s * u)
    k_ny = 1.0 / (2 * pixel)
    k = torch.linspace(0.0, k_ny, 200_001, dtype=torch.float64)
    f = ctf(k, voltage_kv=voltage, cs_mm=cs, defocus_um=dz, pixel_size_nm=pixel,
            envelope_sigma=0.4)
    i = int(torch.argmax(f))
    assert float(k[i]) == pytest.approx(k_closed, rel=2e-3)
    assert float(f[i]) == pytest.approx(v_closed, rel=2e-3)
    # The numbers quoted in SIMULATION_AND_BASELINES.md §1.1.
    assert float(k[i]) == pytest.approx(k_peak_spec, abs=0.006)
    assert float(f[i]) == pytest.approx(value_spec, abs=0.006)


def test_no_zero_crossing_up_to_nyquist_at_benchmark_settings():
    k_ny = 1.0 / 2.4
    k = torch.linspace(1e-4, k_ny, 10_001, dtype=torch.float64)
    f = ctf(k, voltage_kv=300, cs_mm=2.7, defocus_um=-2.0, pixel_size_nm=1.2, envelope_sigma=None)
    assert torch.all(f > 0)  # sin χ rises from 0 at DC and stays positive (χ(k_Ny) ≈ 2.15 < π)


def test_first_zero_at_aitom_defaults():
    # First zero where χ = π: Cs λ³ u² + 2|Dz| λ u − 2 = 0 with u = k² (lengths in nm).
    volts = 300e3
    lam = math.sqrt(150.4 / (volts * (1 + volts / 1.022e6))) * 0.1
    cs_nm, dz_nm = 2.0e6, 5.0e3
    qa, qb = cs_nm * lam**3, 2 * dz_nm * lam
    u = (-qb + math.sqrt(qb * qb + 8 * qa)) / (2 * qa)
    k = torch.linspace(0.2, 0.45, 250_001, dtype=torch.float64)
    f = ctf(k, voltage_kv=300, cs_mm=2.0, defocus_um=-5.0, pixel_size_nm=1.0, envelope_sigma=0.4)
    first = int(torch.nonzero(f <= 0)[0])
    assert float(k[first]) == pytest.approx(math.sqrt(u), abs=2e-6)
    assert float(k[first]) == pytest.approx(0.319, abs=1e-3)


def test_amplitude_contrast_sign_convention():
    k = torch.linspace(0.0, 0.3, 101, dtype=torch.float64)  # χ(0.3 nm⁻¹) ≈ 1.1 < π/2
    kw = {"voltage_kv": 300, "cs_mm": 2.7, "defocus_um": -2.0, "envelope_sigma": None}
    pure = ctf(k, **kw)
    with_a = ctf(k, amplitude_contrast=0.07, **kw)
    assert float(with_a[0]) == pytest.approx(0.07)  # CTF(0) = A, same sign as the phase term
    np.testing.assert_allclose(with_a.numpy(), np.sin(np.arcsin(pure.numpy()) + np.arcsin(0.07)),
                               atol=1e-12)  # sin(χ + asin A), valid while χ < π/2
    assert torch.equal(ctf(k, amplitude_contrast=0.0, **kw), pure)


@pytest.mark.parametrize("shape", [(16, 16), (8, 12, 10)])
def test_grid_is_radial_ctf_and_layouts_agree(shape):
    kw = {"voltage_kv": 300.0, "cs_mm": 2.7, "defocus_um": -2.0, "pixel_size_nm": 1.2}
    shifted = ctf_grid(shape, dtype=torch.float64, **kw)
    kmag = frequency_magnitude(shape, dtype=torch.float64) / 1.2
    torch.testing.assert_close(shifted, ctf(kmag, envelope_sigma=0.4, **kw))
    assert shifted[tuple(n // 2 for n in shape)] == 0.0  # DC at N//2, CTF(0) = 0 without A
    dims = tuple(range(-len(shape), 0))
    unshifted = ctf_grid(shape, layout="unshifted", dtype=torch.float64, **kw)
    torch.testing.assert_close(shifted, torch.fft.fftshift(unshifted, dim=dims))
    rfft = ctf_grid(shape, layout="rfft", dtype=torch.float64, **kw)
    torch.testing.assert_close(rfft, unshifted[..., : shape[-1] // 2 + 1])


def test_grid_matches_aitom_grid_for_even_box():
    # AITom: g_i = i·k_Ny/(N/2) − k_Ny per axis, r = |g| (nm⁻¹), DC at N/2.
    n, pix = 16, 1.2
    k_ny = 1 / (2 * pix)
    g = np.stack(np.meshgrid(*[np.arange(n) * k_ny / (n / 2) - k_ny] * 3, indexing="ij"))
    r = np.sqrt((g**2).sum(0))
    volts = 300e3
    lam = math.sqrt(150.4 / (volts * (1 + volts / 1.022e6))) * 1e-10
    r_m = r * 1e9
    chi = np.pi / 2 * (2.7e-3 * lam**3 * r_m**4 - 2 * (-2e-6) * lam * r_m**2)
    expected = np.sin(chi) * np.exp(-((r / (0.4 * k_ny)) ** 2))
    got = ctf_grid((n, n, n), pixel_size_nm=pix, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_per_particle_defocus_batch():
    dz = torch.tensor([-1.5, -2.0, -3.0], dtype=torch.float64)
    batched = ctf_grid((8, 8, 8), defocus_um=dz, dtype=torch.float64)
    assert batched.shape == (3, 8, 8, 8)
    for i in range(3):
        torch.testing.assert_close(batched[i], ctf_grid((8, 8, 8), defocus_um=float(dz[i]),
                                                        dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        ctf_grid((8,))
