r"""Imaging: posed densities → noisy, CTF-filtered, missing-wedge subtomograms (two modes).

Both modes follow the Xu-lab recipe (SIMULATION_AND_BASELINES.md §1.0–1.1) with the noise split
50/50 between "projection" noise (added **before** the CTF, so it is CTF-filtered) and
"detector" noise (added **after** the CTF; white, or AITom's soft low-pass with
``detector_lowpass``). The SNR is defined on the **final subtomogram**, over the whole box:

    SNR = var(s) / var(n),

``s`` the noise-free subtomogram (same CTF, same missing wedge, same reconstruction) and ``n``
the total noise in it. The noise levels are set per particle from the realised ``var(s)``, and
each half contributes ``var(s) / (2·SNR)`` to ``var(n)`` in expectation — computed *exactly* from
the linear filters (never estimated from samples). So two realisations of the same particle with
independent noise have Pearson correlation ``r = SNR/(1 + SNR)``, i.e. ``SNR = r/(1 − r)``.

Tilt-series mode (:class:`TiltSeriesImager`)
    For each particle: project the posed density at every tilt (:class:`TiltProjector`), add
    white Gaussian noise ``σ₁`` to every projection pixel, apply the 2D CTF (per projection,
    on the detector grid), add white (or low-passed) noise ``σ₂``, and reconstruct by weighted
    back-projection into the ``N³`` box. ``s`` is the WBP of the noise-free, CTF-filtered
    projections; ``σ₁`` and ``σ₂`` are the same at every tilt (constant dose) and chosen so that
    ``E var(WBP(CTF(σ₁ e)))= E var(WBP(MTF(σ₂ e))) = var(s)/(2·SNR)`` for white unit ``e``.
    (So the per-tilt noise is *not* set from the variance of each projection: the SNR refers to
    the reconstructed subtomogram, as the two-realisation check measures it.) WBP: ramp filter
    along ``x`` (perpendicular to the tilt axis), back-projection, no CTF correction.

Fourier mode (:class:`FourierImager`)
    AITom's ``reconstruction__simple_convolution`` in 3D: ``s = F⁻¹[F(v) · CTF · M]`` with ``M``
    the analytic missing-wedge mask (times the Fourier sphere ``|k| ≤ N/2``), noise half 1
    filtered by ``CTF · M``, noise half 2 by ``MTF · M``. With ``snr_definition="exact"`` the
    variance of each half is corrected by its own ``corrfac = var(e)/var(filtered e)``; with
    ``"aitom"`` both halves use the ``CTF · M`` corrfac as AITom does (its true SNR is lower
    than requested — see :func:`aitom_effective_snr`).

The CTF is the AITom one (:func:`jimnet.fourier.ctf`, ``+sin χ`` applied to the *negated* map, so
protein stays dark with ``invert_contrast``). Pixel size = voxel size.

Implementation notes: the two noise halves are independent Gaussian fields, so their sum is drawn
as *one* Gaussian field whose power spectrum is the sum of theirs (``σ₁²·CTF² + σ₂²·MTF²``) —
identical in distribution, half the cost. Everything SNR-independent (the noise-free ``s`` and a
unit-variance noise field) is computed once (:meth:`Imager.components`), so several SNR levels of
the same particles cost one simulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import torch

from jimnet.fourier import ctf_grid, frequency_magnitude, wedge_mask
from jimnet.simulate.config import SimulationConfig
from jimnet.simulate.projector import TiltProjector, tilt_angles

__all__ = [
    "FourierImager",
    "Imager",
    "TiltSeriesImager",
    "aitom_effective_snr",
    "make_imager",
    "noise_free_template",
]


def _soft_sphere(radius_px: torch.Tensor, radius: float, smooth: float) -> torch.Tensor:
    """AITom/TOM soft sphere: 1 inside ``radius``, ``exp(−((r − radius)/smooth)²)`` outside,
    cut to 0 below ``e⁻³``. ``radius_px`` and ``radius`` in Fourier pixels."""
    out = torch.exp(-(((radius_px - radius) / smooth) ** 2))
    out = torch.where(out < math.exp(-3.0), torch.zeros_like(out), out)
    return torch.where(radius_px <= radius, torch.ones_like(out), out)


def _rfft_weights(shape: Sequence[int], dtype=torch.float64) -> torch.Tensor:
    """Multiplicity of each rfft sample in the full spectrum (1 or 2), shape rfft(shape)."""
    w_last = shape[-1] // 2 + 1
    weights = torch.full((w_last,), 2.0, dtype=dtype)
    weights[0] = 1.0
    if shape[-1] % 2 == 0:
        weights[-1] = 1.0
    return weights


def _full_power(spec: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """``Σ |X(k)|²`` over the full spectrum from an rfft-layout array (last ``len(shape)`` dims)."""
    w = _rfft_weights(shape, dtype=spec.real.dtype if spec.is_complex() else spec.dtype)
    mag2 = spec.abs() ** 2 if spec.is_complex() else spec**2
    return (mag2 * w.to(spec.device)).flatten(-len(shape)).sum(-1)


def _white_noise(seeds: Sequence[int], shape: Sequence[int], device) -> torch.Tensor:
    """One unit Gaussian field per particle: shape (B, *shape), float32.

    Particle ``b`` uses only ``seeds[b]``, so results do not depend on the batch composition.
    """
    out = torch.empty((len(seeds), *shape), dtype=torch.float32)
    for b, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed))
        out[b] = torch.randn(tuple(shape), generator=gen, dtype=torch.float32)
    return out.to(device)


def _ctf_kwargs(c: SimulationConfig) -> dict:
    return {"voltage_kv": c.voltage_kv, "cs_mm": c.cs_mm, "defocus_um": c.defocus_um,
            "pixel_size_nm": c.pixel_size_nm, "envelope_sigma": c.envelope_sigma,
            "amplitude_contrast": c.amplitude_contrast}


class Imager:
    """Common interface: ``imager(volumes, noise_seeds, snr)`` → subtomograms.

    Subclasses implement :meth:`__call__`.
    """

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.shape = config.shape
        self.device = torch.device(config.device)

    def ctf_kwargs(self) -> dict:
        """Keyword arguments of :func:`jimnet.fourier.ctf_grid` for this configuration."""
        return _ctf_kwargs(self.config)

    def detector_mtf(self, shape: Sequence[int]) -> torch.Tensor:
        """Filter of the post-CTF noise half on the rfft grid of ``shape`` (1 if white)."""
        if not self.config.detector_lowpass:
            return torch.ones(1, dtype=torch.float64, device=self.device)
        n = self.config.box
        r = frequency_magnitude(shape, "rfft", dtype=torch.float64, device=self.device) * n
        return _soft_sphere(r, 1.0, 0.2 * n)

    def components(
        self, volumes: torch.Tensor, noise_seeds: Sequence[int] | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Noise-free subtomograms, unit noise and reference variances (SNR-independent parts).

        The subtomogram at any SNR is ``signal + noise · sqrt(ref_var / SNR)``
        (:meth:`combine`), so several SNR levels of the same particles cost one simulation.

        Parameters
        ----------
        volumes : torch.Tensor, shape (B, N, N, N)
            Posed densities (already rotated/shifted and contrast-inverted), zyx.
        noise_seeds : sequence of int, length B, or None
            One seed per particle (``None``: no noise component).

        Returns
        -------
        signal : torch.Tensor, shape (B, N, N, N), float32
            Noise-free subtomograms ``s``.
        noise : torch.Tensor, shape (B, N, N, N), float32, or None
            Both noise halves for a unit total: ``E var(noise) = 1`` over the box (each half
            1/2) — with ``snr_definition="aitom"`` it is AITom's scaling instead.
        ref_var : torch.Tensor, shape (B,), float64
            ``var(s)`` over the box (AITom: the variance of the CTF·wedge-filtered map).
        """
        raise NotImplementedError

    @staticmethod
    def combine(
        signal: torch.Tensor, noise: torch.Tensor | None, ref_var: torch.Tensor, snr: float
    ) -> torch.Tensor:
        """``signal + noise · sqrt(ref_var / snr)``; just ``signal`` for an infinite SNR."""
        if not math.isfinite(snr):
            return signal
        if not snr > 0:
            raise ValueError(f"snr must be > 0, got {snr}")
        if noise is None:
            raise ValueError("a finite SNR needs the noise component (give noise_seeds)")
        scale = torch.sqrt(ref_var / snr).to(signal.dtype).reshape(-1, 1, 1, 1)
        return signal + noise * scale

    def __call__(
        self, volumes: torch.Tensor, noise_seeds: Sequence[int] | None, snr: float | None = None
    ) -> torch.Tensor:
        """Image posed densities at ``snr`` (default ``config.snr``; ``math.inf``: no noise).

        Parameters
        ----------
        volumes : torch.Tensor, shape (B, N, N, N)
            Posed, contrast-inverted densities (zyx).
        noise_seeds : sequence of int, length B, or None
            One seed per particle; ``None`` only with an infinite SNR.

        Returns
        -------
        torch.Tensor, shape (B, N, N, N), float32
        """
        snr = self.config.snr if snr is None else snr
        seeds = noise_seeds if math.isfinite(snr) else None
        return self.combine(*self.components(volumes, seeds), snr)


class FourierImager(Imager):
    """Fast 3D imaging: CTF and missing wedge as Fourier masks (see the module docstring)."""

    @cached_property
    def filters(self) -> dict[str, torch.Tensor]:
        """rfft-layout filters and noise gains.

        ``signal`` = BP²·CTF·M, ``noise1`` = BP·CTF·M (pre-CTF half), ``noise2`` = BP·MTF·M
        (post-CTF half), ``aitom`` = CTF·M, and ``gain_*`` = ``E var`` of white unit noise
        through each. ``noise`` is the combined filter of both halves for a unit total
        ``var(s)/SNR`` (see :meth:`__call__`).
        """
        c, shape = self.config, self.shape
        dev = self.device
        ctf = ctf_grid(shape, layout="rfft", dtype=torch.float64, device=dev, **self.ctf_kwargs())
        mask = wedge_mask(shape, c.tilt_min, c.tilt_max, sphere=True, layout="rfft",
                          dtype=torch.float64, device=dev)
        bp = torch.ones((), dtype=torch.float64, device=dev)
        if c.bandpass:
            r = frequency_magnitude(shape, "rfft", dtype=torch.float64, device=dev) * c.box
            bp = _soft_sphere(r, math.floor(c.box * c.pixel_size_nm / 4.0), 2.0)
        mtf = self.detector_mtf(shape)
        filt = {
            "signal": bp * bp * ctf * mask,
            "noise1": bp * ctf * mask,
            "noise2": bp * mtf * mask,
            "aitom": ctf * mask,
        }
        filt = {k: v.expand(ctf.shape).contiguous() for k, v in filt.items()}
        gains = {f"gain_{k}": self.noise_gain(filt[k]) for k in ("noise1", "noise2", "aitom")}
        filt.update(gains)
        if c.snr_definition == "aitom":
            # σ₁ = σ₂ with σ² = var_aitom/(2·SNR)·corrfac: one field, filter √(F₁² + F₂²)
            filt["noise"] = torch.sqrt((filt["noise1"] ** 2 + filt["noise2"] ** 2)
                                       / (2.0 * gains["gain_aitom"]))
        else:
            # σ_i² = var(s)/(2·SNR·gain_i): one field, filter √(F₁²/(2g₁) + F₂²/(2g₂))
            filt["noise"] = torch.sqrt(filt["noise1"] ** 2 / (2.0 * gains["gain_noise1"])
                                       + filt["noise2"] ** 2 / (2.0 * gains["gain_noise2"]))
        return filt

    def noise_gain(self, filt: torch.Tensor) -> torch.Tensor:
        """``E var(F⁻¹[F·e])`` over the box for white unit-variance ``e`` (= 1/corrfac), exact."""
        n_vox = math.prod(self.shape)
        return (_full_power(filt, self.shape) - filt.flatten()[0] ** 2) / n_vox

    @cached_property
    def _filters32(self) -> dict[str, torch.Tensor]:
        return {k: v.float() for k, v in self.filters.items() if not k.startswith("gain_")}

    def components(self, volumes, noise_seeds):
        f = self._filters32
        dims = (-3, -2, -1)
        vol_spec = torch.fft.rfftn(volumes.float(), dim=dims)
        signal = torch.fft.irfftn(vol_spec * f["signal"], s=self.shape, dim=dims)
        if self.config.snr_definition == "aitom":
            ref = torch.fft.irfftn(vol_spec * f["aitom"], s=self.shape, dim=dims)
        else:
            ref = signal
        ref_var = ref.to(torch.float64).flatten(1).var(dim=1, unbiased=False)
        if noise_seeds is None:
            return signal, None, ref_var
        e = _white_noise(noise_seeds, self.shape, self.device)
        noise = torch.fft.irfftn(torch.fft.rfftn(e, dim=dims) * f["noise"], s=self.shape, dim=dims)
        return signal, noise, ref_var


class TiltSeriesImager(Imager):
    """Tilt series → noise → 2D CTF → noise → WBP (see the module docstring)."""

    @cached_property
    def projector(self) -> TiltProjector:
        c = self.config
        return TiltProjector(self.shape, tilt_angles(c.tilt_min, c.tilt_max, c.tilt_step),
                             device=self.device)

    @cached_property
    def detector_filters(self) -> dict[str, torch.Tensor]:
        """2D rfft-layout filters of one projection ``(H, W_det)`` (last axis halved).

        ``ctf``, ``mtf`` (post-CTF noise half), ``noise``: the combined filter of both noise
        halves, scaled so that its WBP has expected variance 1 over the box, and the two noise
        gains ``gain_ctf``, ``gain_mtf``.
        """
        det = self.projector.detector_shape[1:]
        ctf = ctf_grid(det, layout="rfft", dtype=torch.float64, device=self.device,
                       **self.ctf_kwargs())
        mtf = self.detector_mtf(det).expand(ctf.shape)
        gain1, gain2 = self.noise_gain(ctf), self.noise_gain(mtf)
        noise = torch.sqrt(ctf**2 / (2.0 * gain1) + mtf**2 / (2.0 * gain2))
        return {"ctf": ctf.float().contiguous(), "mtf": mtf.float().contiguous(),
                "noise": noise.float().contiguous(),
                "gain_ctf": torch.tensor(gain1), "gain_mtf": torch.tensor(gain2)}

    def noise_gain(self, filt: torch.Tensor) -> float:
        """``E var(WBP(F(e)))`` over the box for white unit-variance noise ``e`` at every pixel
        of every projection, with ``F`` a 2D detector filter (exact, from the operators)."""
        tp = self.projector
        _, h, wd = tp.detector_shape
        basis = torch.eye(h * wd, dtype=torch.float64, device=self.device).reshape(-1, h, wd)
        spec = torch.fft.rfft2(basis) * filt.to(torch.float64)
        g = torch.fft.irfft2(spec, s=(h, wd))  # F e_j, (J, H, W_det)
        g = g @ tp.ramp_matrix.to(torch.float64).T  # ramp along u
        gram = tp.row_gram().to(torch.float64)  # (W_det, W_det)
        sq_norm = torch.einsum("jyu,uv,jyv->", g, gram, g)
        col = tp.column_sums().to(torch.float64)  # (T, W_det)
        box_sum = torch.einsum("tu,ju->jt", col, g.sum(dim=1))  # (J, T)
        n_vox = math.prod(self.shape)
        return float((sq_norm - (box_sum**2).sum() / n_vox) / n_vox)

    @cached_property
    def _tm_filters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """CTF and noise filters on the rfft grid of (W_det, H) (tilt-major layout).

        Both are functions of ``|k|`` only, so the (H, W_det) filters transposed are the same
        filters with the halved axis on ``H`` instead of ``W_det``."""
        det = self.projector.detector_shape[1:][::-1]  # (W_det, H)
        kw = {"layout": "rfft", "dtype": torch.float64, "device": self.device}
        ctf = ctf_grid(det, **kw, **self.ctf_kwargs())
        mtf = self.detector_mtf(det).expand(ctf.shape)
        f = self.detector_filters
        noise = torch.sqrt(ctf**2 / (2.0 * f["gain_ctf"]) + mtf**2 / (2.0 * f["gain_mtf"]))
        return ctf.float().contiguous(), noise.float().contiguous()

    def _filter_tm(self, det: torch.Tensor, n_signal: int) -> torch.Tensor:
        """Filter (T, B, W_det, H) projections: CTF on the first ``n_signal``, noise after."""
        spec = torch.fft.rfft2(det)  # (T, B, W_det, H // 2 + 1)
        ctf, noise = self._tm_filters
        spec[:, :n_signal] *= ctf
        spec[:, n_signal:] *= noise
        return torch.fft.irfft2(spec, s=det.shape[-2:])

    def noise_free(self, volumes: torch.Tensor) -> torch.Tensor:
        """WBP of the CTF-filtered projections of ``volumes``: shape (B, N, N, N)."""
        tp = self.projector
        det = tp.project_tm(volumes.float())
        return tp.wbp_tm(self._filter_tm(det, det.shape[1]))

    def _unit_noise_tm(self, seeds: Sequence[int]) -> torch.Tensor:
        t, h, wd = self.projector.detector_shape
        return _white_noise(seeds, (t, wd, h), self.device).transpose(0, 1)

    def components(self, volumes, noise_seeds):
        if noise_seeds is None:
            signal = self.noise_free(volumes)
            return signal, None, signal.to(torch.float64).flatten(1).var(dim=1, unbiased=False)
        tp = self.projector
        b = volumes.shape[0]
        # Signal projections and unit noise share one FFT pass and one WBP.
        det = torch.cat([tp.project_tm(volumes.float()), self._unit_noise_tm(noise_seeds)], dim=1)
        recon = tp.wbp_tm(self._filter_tm(det, b))
        signal, noise = recon[:b], recon[b:]
        return signal, noise, signal.to(torch.float64).flatten(1).var(dim=1, unbiased=False)


def make_imager(config: SimulationConfig) -> Imager:
    """The imager of ``config.mode``."""
    return TiltSeriesImager(config) if config.mode == "tiltseries" else FourierImager(config)


def noise_free_template(density: torch.Tensor | np.ndarray, config: SimulationConfig) -> np.ndarray:
    """The recipe's SNR = ∞ template: no pose, no missing wedge, same CTF.

    ``F⁻¹[F(±density) · CTF · S]`` with ``S`` the Fourier sphere ``|k| ≤ N/2`` (AITom's
    ``simulation(…, SNR=inf, missing_wedge=0)``), contrast-inverted like the particles. The same
    template serves both modes: a CTF applied per projection equals the 3D CTF of ``|k|``
    (projection-slice theorem, no defocus gradient).

    Parameters
    ----------
    density : array or tensor, shape (N, N, N)
    config : SimulationConfig

    Returns
    -------
    numpy.ndarray, shape (N, N, N), float32
    """
    vol = torch.as_tensor(np.asarray(density), dtype=torch.float64)
    if config.invert_contrast:
        vol = -vol
    filt = ctf_grid(config.shape, layout="rfft", dtype=torch.float64, **_ctf_kwargs(config))
    sphere = (frequency_magnitude(config.shape, "rfft", dtype=torch.float64) <= 0.5 + 1e-12)
    out = torch.fft.irfftn(torch.fft.rfftn(vol) * filt * sphere, s=config.shape)
    return out.to(torch.float32).numpy()


def aitom_effective_snr(config: SimulationConfig) -> float:
    """True box SNR of AITom's 3D recipe at nominal ``config.snr`` (fourier mode, no band-pass).

    AITom scales both noise halves by ``corrfac = 1/gain(CTF·M)``; the post-CTF half then has
    variance ``0.5·var(s)/SNR · gain(MTF·M)/gain(CTF·M)``, which dominates. Returns
    ``var(s)/var(n)`` in expectation (independent of the density).
    """
    imager = FourierImager(config.with_(mode="fourier", bandpass=False))
    f = imager.filters
    ratio = 0.5 * float((f["gain_noise1"] + f["gain_noise2"]) / f["gain_aitom"])
    return config.snr / ratio
