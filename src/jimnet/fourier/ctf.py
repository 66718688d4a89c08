"""The AITom/TOM phase-contrast CTF used by the Xu-lab simulator (SIMULATION_AND_BASELINES.md §1).

Formula (AITom ``aitom.image.optics.ctf.create``, from TOM ``tom_create_ctf``)::

    χ(k)   = (π/2) · (Cs λ³ k⁴ − 2 Dz λ k²)
    CTF(k) = sqrt(1 − A²) · sin χ(k) + A · cos χ(k)        (= sin(χ + asin A))
    E(k)   = exp(−(k / (σ_env · k_Ny))²),   k_Ny = 1 / (2 · pixel size)

and the filter is ``CTF(k) · E(k)``. ``k`` is the spatial frequency magnitude in nm⁻¹, ``Dz`` the
defocus with **Dz < 0 meaning underfocus**, ``λ = sqrt(150.4 / (V (1 + V / 1.022e6))) · 1e-10 m``
the relativistic electron wavelength (``V`` in volts).

Sign convention (stated once): with ``A = 0`` this is exactly AITom's ``sin χ``, which is
**positive** at low frequencies in underfocus. The physical image of a map with positive density
is ``−CTF`` (the usual ``CTF = −(sqrt(1−A²) sin γ + A cos γ)`` of CTFFIND/RELION); AITom gets
there by negating the map before applying ``+sin χ`` (the simulator's "contrast" step). The
amplitude-contrast term is added with the sign that keeps it in phase with the defocus term at
low frequency (``CTF(0) = A``), so it likewise applies to the negated map. ``A = 0`` by default,
as in the Xu-lab simulator.

Note: TOM/AITom adds the Cs term with the same sign as an underfocus term (physically Cs works
against underfocus). At ≥ 1 nm pixels the Cs phase is ≈ 1e-3 rad at Nyquist, so this is kept for
fidelity to the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from jimnet.fourier.grids import Layout, fourier_shape, frequency_magnitude

Param = float | torch.Tensor


def electron_wavelength_nm(voltage_kv: Param) -> Param:
    """Relativistic electron wavelength in nm: ``sqrt(150.4 / (V (1 + V / 1.022e6)))·0.1``.

    Parameters
    ----------
    voltage_kv : float or torch.Tensor
        Acceleration voltage in kV (300 kV gives ≈ 1.969e-3 nm).
    """
    volts = voltage_kv * 1000.0
    rel = volts * (1.0 + volts / 1.022e6)
    if isinstance(rel, torch.Tensor):
        return torch.sqrt(150.4 / rel) * 0.1
    return math.sqrt(150.4 / rel) * 0.1


def ctf(
    k: torch.Tensor,
    *,
    voltage_kv: Param = 300.0,
    cs_mm: Param = 2.7,
    defocus_um: Param = -2.0,
    pixel_size_nm: Param = 1.2,
    envelope_sigma: Param | None = 0.4,
    amplitude_contrast: Param = 0.0,
) -> torch.Tensor:
    """AITom/TOM CTF × envelope at spatial frequency magnitudes ``k`` (nm⁻¹).

    Parameters
    ----------
    k : torch.Tensor, any shape
        Spatial frequency magnitude in nm⁻¹ (cycles/voxel divided by ``pixel_size_nm``).
    voltage_kv : float or tensor
        Acceleration voltage, kV.
    cs_mm : float or tensor
        Spherical aberration, mm.
    defocus_um : float or tensor
        Defocus ``Dz`` in µm; negative = underfocus (AITom convention).
    pixel_size_nm : float or tensor
        Pixel (voxel) size in nm; only sets the Nyquist frequency of the envelope.
    envelope_sigma : float, tensor or None
        Envelope width in units of Nyquist, ``E = exp(−(k / (σ k_Ny))²)``; ``None`` for no
        envelope.
    amplitude_contrast : float or tensor
        Amplitude contrast fraction ``A`` in [0, 1]; 0 reproduces AITom.

    Returns
    -------
    torch.Tensor
        ``(sqrt(1 − A²) sin χ + A cos χ) · E``; parameters given as tensors broadcast against
        ``k`` (give them trailing singleton dims for per-particle values).
    """
    lam = electron_wavelength_nm(voltage_kv)
    cs_nm = cs_mm * 1e6
    dz_nm = defocus_um * 1e3
    k2 = k * k
    chi = (torch.pi / 2.0) * (cs_nm * lam**3 * k2 * k2 - 2.0 * dz_nm * lam * k2)
    a = amplitude_contrast
    if isinstance(a, torch.Tensor) or a != 0.0:
        a_t = torch.as_tensor(a, dtype=k.dtype, device=k.device)
        out = torch.sqrt(1.0 - a_t * a_t) * torch.sin(chi) + a_t * torch.cos(chi)
    else:
        out = torch.sin(chi)
    if envelope_sigma is not None:
        k_ny = 1.0 / (2.0 * pixel_size_nm)
        out = out * torch.exp(-((k / (envelope_sigma * k_ny)) ** 2))
    return out


def ctf_grid(
    shape: Sequence[int],
    *,
    layout: Layout = "shifted",
    voltage_kv: Param = 300.0,
    cs_mm: Param = 2.7,
    defocus_um: Param = -2.0,
    pixel_size_nm: float = 1.2,
    envelope_sigma: Param | None = 0.4,
    amplitude_contrast: Param = 0.0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """CTF × envelope on the Fourier grid of a 2D ``(H, W)`` or 3D ``(D, H, W)`` box.

    The 3D version is radially symmetric in ``|k|`` (the Xu lab's fast 3D simulator), with
    ``|k| = |k_cycles/voxel| / pixel_size_nm``.

    Parameters
    ----------
    shape : (H, W) or (D, H, W)
        Real-space box shape.
    layout : {"shifted", "unshifted", "rfft"}
        Fourier layout (:mod:`jimnet.fourier.grids`); "shifted" has DC at ``N // 2`` as AITom's.
    voltage_kv, cs_mm, defocus_um, envelope_sigma, amplitude_contrast : float or tensor
        As in :func:`ctf`. A tensor of shape ``(*batch)`` (e.g. per-particle defocus ``(B,)``)
        gives one grid per entry.
    pixel_size_nm : float
        Pixel size in nm.
    dtype, device
        Of the result (default: torch's default float dtype, CPU).

    Returns
    -------
    torch.Tensor, shape (*batch, *fourier_shape(shape, layout))
    """
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be (H, W) or (D, H, W), got {tuple(shape)}")
    dtype = dtype or torch.get_default_dtype()
    k = frequency_magnitude(shape, layout, dtype=dtype, device=device) / pixel_size_nm
    trailing = [1] * len(shape)
    params = {"voltage_kv": voltage_kv, "cs_mm": cs_mm, "defocus_um": defocus_um,
              "envelope_sigma": envelope_sigma, "amplitude_contrast": amplitude_contrast}
    batch: tuple[int, ...] = ()
    for name, value in params.items():
        if isinstance(value, torch.Tensor):
            value = value.to(dtype=dtype, device=k.device)
            batch = tuple(torch.broadcast_shapes(batch, value.shape))
            params[name] = value.reshape(*value.shape, *trailing)
    out = ctf(k, pixel_size_nm=pixel_size_nm, **params)
    return out.expand(*batch, *fourier_shape(shape, layout))
