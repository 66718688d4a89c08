"""Align every particle of a RELION STAR file to a reference map and write the poses.

The pose found for a particle is the one that maps the reference onto it
(``rigid_transform(reference, R, t) ≈ particle``), which is RELION's meaning of
``rlnAngleRot/Tilt/Psi`` (reference → particle) and of ``rlnOrigin{X,Y,Z}Angst`` (the shift that
moves the particle back onto the reference); the conversion is :func:`jimnet.io.pose_to_relion`.
Every input column is kept; the score goes to ``jimnetAlignScore``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from jimnet.align.api import AlignResult, Method, align_to_reference
from jimnet.align.search import AlignParams
from jimnet.errors import JimnetInputError
from jimnet.io import ParticleSet, read_volume, write_particle_star

SCORE_COLUMN = "jimnetAlignScore"
VOXEL_RTOL = 1e-3


@dataclass(frozen=True)
class StarAlignment:
    """Poses of a STAR file's particles. ``result`` as in :class:`AlignResult`; ``path`` written."""

    result: AlignResult
    path: Path | None


def _batches(particles: ParticleSet, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(particles), batch_size):
        yield particles.get_batch(np.arange(start, min(len(particles), start + batch_size)))


def load_reference(path: str | os.PathLike, particles: ParticleSet) -> torch.Tensor:
    """Read a reference map and check its box and voxel size against the particles."""
    ref, voxel = read_volume(path, allow_zero_voxel_size=True)
    if ref.shape != (particles.box_size,) * 3:
        raise JimnetInputError(f"{path}: reference box {ref.shape} differs from the particles' "
                               f"{(particles.box_size,) * 3}")
    if voxel and not math.isclose(voxel, particles.pixel_size, rel_tol=VOXEL_RTOL):
        raise JimnetInputError(f"{path}: reference voxel size {voxel:g} Å differs from the "
                               f"particles' {particles.pixel_size:g} Å")
    return torch.from_numpy(np.ascontiguousarray(ref))


def align_star(
    star_path: str | os.PathLike,
    reference_path: str | os.PathLike,
    out_path: str | os.PathLike | None = None,
    *,
    method: Method = "ht",
    params: AlignParams | None = None,
    reference_tilt_range: tuple[float, float] | None = None,
    device: torch.device | str | None = None,
    batch_size: int = 8,
    force: bool = False,
    pixel_size: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StarAlignment:
    """Align the particles of ``star_path`` to the map ``reference_path``.

    Parameters
    ----------
    star_path : path-like
        RELION particle STAR (tilt ranges from ``jimnetTiltMin/Max``, default ±60°).
    reference_path : path-like
        Reference map (MRC, same box and voxel size).
    out_path : path-like, optional
        Output STAR (all input columns kept, poses and ``jimnetAlignScore`` replaced).
    method : {"ht", "fa", "exhaustive"}
    params : AlignParams, optional
    reference_tilt_range : (float, float), optional
        Missing wedge of the reference (default: none, e.g. an average or a model map).
    device : torch.device or str, optional
    batch_size : int
        Particles aligned together.
    force : bool
        Overwrite ``out_path``.
    pixel_size : float, optional
        Å per voxel, overriding the STAR/MRC headers.
    progress : callable, optional
        ``progress(done, total)``.

    Returns
    -------
    StarAlignment
    """
    particles = ParticleSet.from_star(star_path, pixel_size=pixel_size)
    if out_path is not None and Path(out_path).exists() and not force:
        raise JimnetInputError(f"output exists: {out_path} (use --force)")
    reference = load_reference(reference_path, particles)
    n = len(particles)
    tilts = particles.tilt_ranges()
    wedges = [(float(lo), float(hi)) for lo, hi in tilts]
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, n)

    result = align_to_reference(
        _batches(particles, batch_size), reference, wedges,
        reference_wedge=reference_tilt_range, method=method, params=params, device=device,
        batch_size=batch_size, progress=tick,
    )
    written = None
    if out_path is not None:
        star = particles.updated_star(out_path, rotations=result.rotation.numpy(),
                                      shifts=result.shift.numpy())
        star.particles[SCORE_COLUMN] = result.score.numpy()
        written = write_particle_star(out_path, star, force=force)
    return StarAlignment(result, written)
