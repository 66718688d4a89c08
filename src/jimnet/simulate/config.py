"""All simulation parameters in one validated dataclass (units in the field names' docs)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from jimnet.errors import JimnetInputError

__all__ = ["Mode", "Normalize", "SimulationConfig"]

Mode = Literal["tiltseries", "fourier"]
Normalize = Literal["global", "particle", "none"]


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of the subtomogram simulator (defaults: the Jim-Net/Gum-Net benchmark).

    Attributes
    ----------
    mode : {"tiltseries", "fourier"}
        ``"tiltseries"``: project at every tilt, noise, 2D CTF, noise, weighted back-projection.
        ``"fourier"``: the fast 3D recipe (CTF and missing-wedge masks applied in 3D).
    snr : float
        ``var(signal) / var(noise)`` of the subtomogram (> 0; ``math.inf`` for no noise).
    box : int
        Box edge in voxels (≥ 8).
    voxel_size : float
        Å per voxel (default 12 Å = 1.2 nm); also the CTF pixel size.
    resolution : float
        Density resolution ``R`` in Å (Situs convention, Gaussian ``σ₁ = R/(2√3)``).
    tilt_min, tilt_max : float
        Tilt range in degrees, ``-90 ≤ min < max ≤ 90``; tilts are right-handed about +y (array
        axis 1), beam along z (array axis 0).
    tilt_step : float
        Degrees between projections (tilt-series mode).
    max_shift : float
        Shifts are uniform in ``[-max_shift, max_shift]`` voxels per axis.
    integer_shifts : bool
        Draw integer shifts (AITom demo) instead of sub-voxel ones.
    voltage_kv, cs_mm, defocus_um, envelope_sigma, amplitude_contrast : float
        CTF (:func:`jimnet.fourier.ctf`): kV, mm, µm (negative = underfocus), envelope width in
        units of Nyquist, amplitude-contrast fraction.
    invert_contrast : bool
        Negate the density before imaging (protein dark, as in cryo-ET).
    detector_lowpass : bool
        Low-pass the post-CTF noise half with AITom's soft sphere (radius 1 Fourier pixel,
        Gaussian fall-off ``0.2·N``, cut at ``e⁻³``); otherwise it is white.
    bandpass : bool
        Fourier mode only: AITom's band-pass (soft sphere of radius ``floor(N·voxel_nm/4)``
        Fourier pixels) on the density and on the noisy result.
    snr_definition : {"exact", "aitom"}
        Fourier mode only. ``"exact"``: each noise half contributes ``var(signal)/(2·SNR)`` to the
        final subtomogram, so the measured SNR equals ``snr``. ``"aitom"``: AITom's
        ``reconstruction__simple_convolution`` scaling (both halves scaled by the CTF·wedge
        ``corrfac``), whose true SNR is much lower than ``snr``.
    normalize : {"global", "particle", "none"}
        Output scaling of written subtomograms: ``"global"`` = (x − mean)/std over the whole set
        (Gum-Net), ``"particle"`` = per-subtomogram z-score, ``"none"`` = raw.
    seed : int
        Global seed; particle ``i``'s pose and noise depend only on ``(seed, i)``.
    batch_size : int
        Particles simulated per batch (does not change the statistics).
    device : str
        torch device (``"cpu"``, ``"cuda"``).
    """

    mode: Mode = "tiltseries"
    snr: float = 0.1
    box: int = 32
    voxel_size: float = 12.0
    resolution: float = 12.0
    tilt_min: float = -60.0
    tilt_max: float = 60.0
    tilt_step: float = 1.0
    max_shift: float = 6.0
    integer_shifts: bool = True
    voltage_kv: float = 300.0
    cs_mm: float = 2.7
    defocus_um: float = -2.0
    envelope_sigma: float = 0.4
    amplitude_contrast: float = 0.0
    invert_contrast: bool = True
    detector_lowpass: bool = True
    bandpass: bool = False
    snr_definition: Literal["exact", "aitom"] = "exact"
    normalize: Normalize = "global"
    seed: int = 0
    batch_size: int = 32
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~jimnet.errors.JimnetInputError` (one line) on impossible values."""

        def bad(msg: str) -> None:
            raise JimnetInputError(msg)

        if self.mode not in ("tiltseries", "fourier"):
            bad(f"mode must be 'tiltseries' or 'fourier', got {self.mode!r}")
        if not (self.snr > 0) or math.isnan(self.snr):
            bad(f"SNR must be > 0 (or inf for noise-free), got {self.snr}")
        if int(self.box) != self.box or self.box < 8:
            bad(f"box must be an integer >= 8 voxels, got {self.box}")
        for field in ("voxel_size", "resolution"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value > 0):
                bad(f"{field} must be a positive number of Å, got {value}")
        if not (-90.0 <= self.tilt_min < self.tilt_max <= 90.0):
            bad(f"tilt range must satisfy -90 <= min < max <= 90 degrees, got "
                f"[{self.tilt_min}, {self.tilt_max}]")
        if not (0 < self.tilt_step <= self.tilt_max - self.tilt_min):
            bad(f"tilt step must be in (0, max - min] degrees, got {self.tilt_step}")
        if not (math.isfinite(self.max_shift) and 0 <= self.max_shift < self.box / 2):
            bad(f"max shift must be in [0, box/2) voxels, got {self.max_shift}")
        if not (self.voltage_kv > 0 and self.cs_mm >= 0 and self.envelope_sigma > 0):
            bad("CTF parameters must satisfy voltage > 0, Cs >= 0, envelope sigma > 0")
        if not math.isfinite(self.defocus_um):
            bad(f"defocus must be finite (µm), got {self.defocus_um}")
        if not (0.0 <= self.amplitude_contrast < 1.0):
            bad(f"amplitude contrast must be in [0, 1), got {self.amplitude_contrast}")
        if self.snr_definition not in ("exact", "aitom"):
            bad(f"snr_definition must be 'exact' or 'aitom', got {self.snr_definition!r}")
        if self.normalize not in ("global", "particle", "none"):
            bad(f"normalize must be 'global', 'particle' or 'none', got {self.normalize!r}")
        if self.batch_size < 1:
            bad(f"batch size must be >= 1, got {self.batch_size}")
        if not (0 <= self.seed < 2**63):
            bad(f"seed must be in [0, 2**63), got {self.seed}")

    @property
    def pixel_size_nm(self) -> float:
        """Voxel size in nm (the CTF's pixel size)."""
        return self.voxel_size / 10.0

    @property
    def shape(self) -> tuple[int, int, int]:
        """Box shape ``(N, N, N)``."""
        return (int(self.box),) * 3

    def with_(self, **changes: Any) -> SimulationConfig:
        """Copy with some fields changed (validated)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``inf`` SNR as the string ``"inf"``)."""
        out = asdict(self)
        if math.isinf(out["snr"]):
            out["snr"] = "inf"
        return out
