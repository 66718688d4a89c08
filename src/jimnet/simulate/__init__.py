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

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.simulate.config import SimulationConfig
    from jimnet.simulate.dataset import (
        Batch,
        ParticleTruth,
        draw_truth,
        particle_rng,
        pose_particles,
        simulate_batches,
    )
    from jimnet.simulate.density import DensityInfo, situs_sigma, structure_density
    from jimnet.simulate.imaging import (
        FourierImager,
        Imager,
        TiltSeriesImager,
        aitom_effective_snr,
        make_imager,
        noise_free_template,
    )
    from jimnet.simulate.output import SimulationResult, simulate_to_directory, snr_dirname
    from jimnet.simulate.projector import TiltProjector, tilt_angles
    from jimnet.simulate.structures import (
        PAPER_BENCHMARK,
        SHIPPED_STRUCTURES,
        ShippedStructure,
        Structure,
        load_structure,
        shipped_structure_path,
    )

_EXPORTS = {
    "SimulationConfig": "jimnet.simulate.config",
    "Batch": "jimnet.simulate.dataset",
    "ParticleTruth": "jimnet.simulate.dataset",
    "draw_truth": "jimnet.simulate.dataset",
    "particle_rng": "jimnet.simulate.dataset",
    "pose_particles": "jimnet.simulate.dataset",
    "simulate_batches": "jimnet.simulate.dataset",
    "DensityInfo": "jimnet.simulate.density",
    "situs_sigma": "jimnet.simulate.density",
    "structure_density": "jimnet.simulate.density",
    "FourierImager": "jimnet.simulate.imaging",
    "Imager": "jimnet.simulate.imaging",
    "TiltSeriesImager": "jimnet.simulate.imaging",
    "aitom_effective_snr": "jimnet.simulate.imaging",
    "make_imager": "jimnet.simulate.imaging",
    "noise_free_template": "jimnet.simulate.imaging",
    "SimulationResult": "jimnet.simulate.output",
    "simulate_to_directory": "jimnet.simulate.output",
    "snr_dirname": "jimnet.simulate.output",
    "TiltProjector": "jimnet.simulate.projector",
    "tilt_angles": "jimnet.simulate.projector",
    "PAPER_BENCHMARK": "jimnet.simulate.structures",
    "SHIPPED_STRUCTURES": "jimnet.simulate.structures",
    "ShippedStructure": "jimnet.simulate.structures",
    "Structure": "jimnet.simulate.structures",
    "load_structure": "jimnet.simulate.structures",
    "shipped_structure_path": "jimnet.simulate.structures",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "PAPER_BENCHMARK",
    "SHIPPED_STRUCTURES",
    "Batch",
    "DensityInfo",
    "FourierImager",
    "Imager",
    "ParticleTruth",
    "ShippedStructure",
    "SimulationConfig",
    "SimulationResult",
    "Structure",
    "TiltProjector",
    "TiltSeriesImager",
    "aitom_effective_snr",
    "draw_truth",
    "load_structure",
    "make_imager",
    "noise_free_template",
    "particle_rng",
    "pose_particles",
    "shipped_structure_path",
    "simulate_batches",
    "simulate_to_directory",
    "situs_sigma",
    "snr_dirname",
    "structure_density",
    "tilt_angles",
]
