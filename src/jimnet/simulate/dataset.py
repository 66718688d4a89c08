"""Ground truth (classes, poses, noise seeds) and batched simulation of a particle set.

Determinism: everything random about particle ``i`` — its rotation, shift and noise seed — comes
from ``numpy.random.SeedSequence(seed, spawn_key=(PARTICLE_STREAM, i))``, so it depends only on
the global seed and the index (not on the batch size, the number of particles or the SNR). The
class of each index is a seeded permutation of ``n_per_class`` copies of ``1 … K``. Floating-point
results are bit-identical for the same seed and batch size; other batch sizes can differ in the
last bits (BLAS blocking).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from jimnet.geometry import random_rotations
from jimnet.simulate.config import SimulationConfig
from jimnet.simulate.imaging import Imager, make_imager
from jimnet.transform import rigid_transform

__all__ = [
    "Batch",
    "ParticleTruth",
    "draw_truth",
    "particle_rng",
    "pose_particles",
    "simulate_batches",
]

CLASS_STREAM = 1
PARTICLE_STREAM = 2


def particle_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of particle ``index`` (0-based) under global ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PARTICLE_STREAM, index)))


@dataclass(frozen=True)
class ParticleTruth:
    """True labels of a simulated set (n particles).

    Attributes
    ----------
    class_numbers : numpy.ndarray, shape (n,), int64
        1-based class of each particle (RELION ``rlnClassNumber``).
    rotations : numpy.ndarray, shape (n, 3, 3)
        ``R`` (zyx, reference → particle; :mod:`jimnet.geometry.pose`).
    shifts : numpy.ndarray, shape (n, 3)
        ``t`` in voxels (zyx).
    noise_seeds : numpy.ndarray, shape (n,), int64
        Seed of each particle's noise.
    """

    class_numbers: NDArray[np.int64]
    rotations: NDArray[np.float64]
    shifts: NDArray[np.float64]
    noise_seeds: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.class_numbers)


def draw_truth(n_per_class: int, n_classes: int, config: SimulationConfig) -> ParticleTruth:
    """Classes (seeded shuffle), uniform rotations, shifts and noise seeds for a set.

    Parameters
    ----------
    n_per_class : int
        Particles per class.
    n_classes : int
        Number of classes ``K``.
    config : SimulationConfig
        Uses ``seed``, ``max_shift`` (voxels) and ``integer_shifts``.

    Returns
    -------
    ParticleTruth
        ``n = n_per_class · n_classes`` particles. Shifts are uniform in
        ``[-max_shift, max_shift]`` per axis (integers when ``integer_shifts``); rotations are
        Haar-uniform (:func:`jimnet.geometry.random_rotations`).
    """
    n = n_per_class * n_classes
    class_rng = np.random.default_rng(np.random.SeedSequence(config.seed,
                                                             spawn_key=(CLASS_STREAM,)))
    classes = class_rng.permutation(np.repeat(np.arange(1, n_classes + 1), n_per_class))
    rotations = np.empty((n, 3, 3))
    shifts = np.empty((n, 3))
    seeds = np.empty(n, dtype=np.int64)
    m = config.max_shift
    for i in range(n):
        rng = particle_rng(config.seed, i)
        rotations[i] = random_rotations(1, rng)[0]
        if config.integer_shifts:
            shifts[i] = rng.integers(-int(np.floor(m)), int(np.floor(m)) + 1, size=3)
        else:
            shifts[i] = rng.uniform(-m, m, size=3)
        seeds[i] = rng.integers(0, 2**63 - 1)
    return ParticleTruth(classes.astype(np.int64), rotations, shifts, seeds)


def pose_particles(
    densities: torch.Tensor,
    class_numbers: Sequence[int] | NDArray[np.int64],
    rotations: NDArray[np.float64] | torch.Tensor,
    shifts: NDArray[np.float64] | torch.Tensor,
    *,
    invert_contrast: bool = True,
) -> torch.Tensor:
    """Rotate and shift each particle's class density (``rigid_transform``), optionally negated.

    Parameters
    ----------
    densities : torch.Tensor, shape (K, N, N, N)
        Class densities, class ``k`` (1-based) at index ``k − 1``.
    class_numbers : sequence of int, length B
        1-based classes.
    rotations : shape (B, 3, 3); shifts : shape (B, 3)
        The true poses (zyx, voxels).
    invert_contrast : bool
        Negate (protein dark).

    Returns
    -------
    torch.Tensor, shape (B, N, N, N), float32
    """
    idx = torch.as_tensor(np.asarray(class_numbers) - 1, dtype=torch.long, device=densities.device)
    vols = densities[idx].to(torch.float32)
    rot = torch.as_tensor(np.asarray(rotations), dtype=torch.float32, device=densities.device)
    shift = torch.as_tensor(np.asarray(shifts), dtype=torch.float32, device=densities.device)
    posed = rigid_transform(vols, rot, shift)
    return -posed if invert_contrast else posed


@dataclass(frozen=True)
class Batch:
    """One simulated batch: particle indices and the SNR-independent components.

    ``imager.combine(signal, noise, ref_var, snr)`` gives the subtomograms at any SNR.
    """

    indices: NDArray[np.int64]
    signal: torch.Tensor
    noise: torch.Tensor | None
    ref_var: torch.Tensor


def simulate_batches(
    densities: torch.Tensor | NDArray[np.float32],
    truth: ParticleTruth,
    config: SimulationConfig,
    *,
    imager: Imager | None = None,
    with_noise: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Batch]:
    """Simulate ``truth`` batch by batch (``config.batch_size`` particles each).

    Parameters
    ----------
    densities : array or tensor, shape (K, N, N, N)
        Class densities (positive, e.g. from :func:`jimnet.simulate.structure_density`).
    truth : ParticleTruth
    config : SimulationConfig
    imager : Imager, optional
        Reuse an imager (its cached operators); default ``make_imager(config)``.
    with_noise : bool
        Also compute the unit noise component.
    progress : callable, optional
        Called with the number of particles finished after each batch.

    Yields
    ------
    Batch
    """
    imager = imager or make_imager(config)
    dens = torch.as_tensor(np.asarray(densities) if not isinstance(densities, torch.Tensor)
                           else densities, dtype=torch.float32, device=imager.device)
    n = len(truth)
    for start in range(0, n, config.batch_size):
        idx = np.arange(start, min(n, start + config.batch_size))
        vols = pose_particles(dens, truth.class_numbers[idx], truth.rotations[idx],
                              truth.shifts[idx], invert_contrast=config.invert_contrast)
        seeds = truth.noise_seeds[idx].tolist() if with_noise else None
        with torch.no_grad():
            signal, noise, ref_var = imager.components(vols, seeds)
        yield Batch(idx, signal, noise, ref_var)
        if progress is not None:
            progress(len(idx))
