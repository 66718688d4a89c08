"""Subtomogram simulator: structures → densities → noisy, CTF-filtered, missing-wedge particles.

Pipeline (SIMULATION_AND_BASELINES.md Part 1, the Xu-lab recipe):

1. :func:`load_structure` — PDB/mmCIF (gemmi), residue-bead TSV or MRC map, or a shipped name
   (:data:`PAPER_BENCHMARK`: the five default stand-ins).
2. :func:`structure_density` — mass-weighted Gaussian density (Situs ``R = 2σ``) or a resampled
   map, centre of mass at ``N // 2``, maximum 1.
3. :func:`draw_truth` — classes, uniform rotations, shifts, noise seeds (per-particle seeds).
4. :func:`make_imager` — ``"tiltseries"`` (projection, noise, 2D CTF, noise, WBP;
   :class:`TiltSeriesImager`) or ``"fourier"`` (3D CTF and wedge masks; :class:`FourierImager`).
5. :func:`simulate_to_directory` — STAR + MRC + templates + ``simulation.json``.

Conventions: volumes zyx, beam along axis 0, tilt axis = axis 1; a pose ``(R, t)`` maps the
reference onto the particle (:mod:`jimnet.geometry.pose`); SNR = var(signal)/var(noise) over the
final subtomogram.
"""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.simulate.config": ("SimulationConfig",),
    "jimnet.simulate.dataset": (
        "Batch", "ParticleTruth", "draw_truth", "particle_rng", "pose_particles",
        "simulate_batches",
    ),
    "jimnet.simulate.density": ("DensityInfo", "situs_sigma", "structure_density"),
    "jimnet.simulate.imaging": (
        "FourierImager", "Imager", "TiltSeriesImager", "aitom_effective_snr", "make_imager",
        "noise_free_template",
    ),
    "jimnet.simulate.output": ("SimulationResult", "simulate_to_directory", "snr_dirname"),
    "jimnet.simulate.projector": ("TiltProjector", "tilt_angles"),
    "jimnet.simulate.structures": (
        "PAPER_BENCHMARK", "SHIPPED_STRUCTURES", "ShippedStructure", "Structure", "load_structure",
        "shipped_structure_path",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
