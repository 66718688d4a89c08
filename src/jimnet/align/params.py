"""Settings of the rotational search, shared by every strategy (no torch: cheap to import)."""

from __future__ import annotations

from dataclasses import dataclass

from jimnet.geometry.symmetry import normalise_symmetry

__all__ = ["AlignParams"]


@dataclass(frozen=True)
class AlignParams:
    """Settings of the rotational search (shared by every strategy).

    Attributes
    ----------
    angular_step : float
        Step Δ of the global uniform rotation grid, degrees (15° → 4,401 rotations).
    final_step : float
        Local refinement stops once its step is ≤ this (degrees).
    n_candidates : int
        Global candidates refined locally (top-K after non-maximum suppression).
    max_freq : float
        Upper band edge of the finest level, cycles/voxel (0.5 = Nyquist).
    min_freq : float
        Lower band edge in cycles per box (1 excludes only the DC term).
    band_factor : float
        Band edge of a level at angular step δ is ``band_factor / δ_rad`` cycles per box. On
        CTF-modulated data the lowest shells carry almost no signal (at 12 Å voxels and 2 µm
        defocus the CTF is below 0.15 up to 4 cycles per box), so a coarse grid (≥ 20°) needs a
        larger factor than a 15° one (predict's 25° global rounds use 3.5;
        benchmarks/results/band_factor.md).
    max_shift : float or None
        Largest accepted shift length, voxels (``None``: any periodic shift of the box).
    mask_radius : float or None
        Outer radius (voxels) of the soft real-space sphere applied to both volumes before the
        transform (``None``: ``N / 2``; ``0`` disables masking).
    mask_width : float
        Raised-cosine edge width of that sphere, voxels.
    pad : int
        Padding factor of the source spectra (2: accurate Fourier interpolation).
    chunk : int
        Rotations scored per batch (memory ∝ pairs × chunk × M³).
    max_moves : int
        Hill-climbing moves per refinement step before the step is halved anyway.
    weight_sigma : float or None
        Optional Gaussian spectral weight ``exp(−|k|²/(2σ²))`` (σ in cycles per box) on the
        score (applied as a filter ``exp(−|k|²/(4σ²))`` to both volumes).
    particle_radius : float or None
        Particle radius in voxels. When set, each volume is masked by a soft sphere of this
        radius (plus ``mask_width``) around its own particle, located by
        :func:`jimnet.align.centre.estimate_centre`; this removes most of the noise from the
        score and is the most important setting at low SNR. ``None``: one sphere of radius
        ``mask_radius`` about the box centre.
    n_peaks : int
        H-T align: amplitude-score local maxima that get a translation search.
    n_seeds : int
        F&A align: power-spectrum seeds (successively halved to 10 during the alternation).
    max_iter : int
        F&A align: translation/rotation alternations.
    peak_radius : float
        Non-maximum-suppression radius for global peaks, in units of ``angular_step``.
    refine : {"fit", "hill"}
        Local refinement: ``"fit"`` (default) fits a quadratic to the 27 scores of each local
        grid and jumps to its maximum, with the shift carried over by Newton steps (one FFT
        translation search per candidate and level); ``"hill"`` is the original hill climbing
        with a full FFT translation search at every local rotation (kept for comparison).
    step_factor : float
        ``"fit"`` refinement: the lattice step shrinks by this factor per level.
    symmetry : str
        Point group of the source (the reference): ``C1``, ``Cn``, ``Dn``, ``T``, ``O`` or
        ``I`` (:mod:`jimnet.geometry.symmetry`). Global peaks that are symmetry mates of each
        other count as one, so the candidates refined locally are distinct poses.
    """

    angular_step: float = 15.0
    final_step: float = 1.0
    n_candidates: int = 10
    max_freq: float = 0.35
    min_freq: float = 1.0
    band_factor: float = 1.5
    max_shift: float | None = None
    mask_radius: float | None = None
    mask_width: float = 3.0
    pad: int = 2
    chunk: int = 256
    max_moves: int = 3
    weight_sigma: float | None = None
    particle_radius: float | None = None
    n_peaks: int = 600
    n_seeds: int = 60
    max_iter: int = 10
    peak_radius: float = 0.75
    refine: str = "fit"
    step_factor: float = 3.0
    symmetry: str = "C1"

    def __post_init__(self) -> None:
        if self.angular_step <= 0 or self.final_step <= 0:
            raise ValueError("angular steps must be positive")
        if not 0.0 < self.max_freq <= 0.5:
            raise ValueError(f"max_freq must be in (0, 0.5] cycles/voxel, got {self.max_freq}")
        if self.n_candidates < 1:
            raise ValueError("n_candidates must be ≥ 1")
        if self.refine not in ("fit", "hill"):
            raise ValueError(f"refine must be 'fit' or 'hill', got {self.refine!r}")
        if self.step_factor <= 1.0:
            raise ValueError("step_factor must be > 1")
        object.__setattr__(self, "symmetry", normalise_symmetry(self.symmetry))
