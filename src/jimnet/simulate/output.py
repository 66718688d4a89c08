"""Write simulated particle sets: subtomograms, STAR truth, noise-free templates, metadata.

Layout of one dataset directory::

    DIR/particles.star                   RELION 5 particle STAR (truth poses and classes)
    DIR/subtomograms/p000001.mrc …       float32 MRC, voxel size set
    DIR/references/class01_3jb9.mrc …    noise-free template of each class (SNR ∞, no wedge, CTF)
    DIR/simulation.json                  every parameter, seed, versions, wall time

With several SNR levels each gets its own ``DIR/snr_<value>/`` with that layout (the same
particles — classes, poses and noise fields — at each level). Everything is built in a temporary
sibling directory and renamed into place at the end (:func:`jimnet.io.atomic_output_dir`), so an
error leaves nothing behind.

STAR truth: ``rlnAngleRot/Tilt/Psi`` and ``rlnOrigin{X,Y,Z}Angst`` come from
:func:`jimnet.io.pose_to_relion` of the pose ``(R, t)`` used to make the particle from the
reference (``particle = rigid_transform(reference, R, t)``), so applying the inverse pose to a
particle maps it onto its reference. ``rlnClassNumber`` is the true class (1-based, the order of
the structures), ``jimnetTiltMin/Max`` the tilt range.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import jimnet
from jimnet.errors import JimnetInputError
from jimnet.io import (
    ParticleStar,
    atomic_output_dir,
    atomic_write_text,
    make_optics_table,
    make_particles_table,
    pose_to_relion,
    write_particle_star,
    write_volume,
)
from jimnet.simulate.config import SimulationConfig
from jimnet.simulate.dataset import ParticleTruth, draw_truth, simulate_batches
from jimnet.simulate.density import DensityInfo, structure_density
from jimnet.simulate.imaging import (
    FourierImager,
    TiltSeriesImager,
    aitom_effective_snr,
    make_imager,
    noise_free_template,
)
from jimnet.simulate.structures import Structure, resolve_structure_name

__all__ = ["ProgressCallback", "SimulationResult", "simulate_to_directory", "snr_dirname"]

#: ``progress(stage, advance, total)`` with stage "simulate" or "write".
ProgressCallback = Callable[[str, int, int], None]


def snr_dirname(snr: float) -> str:
    """Sub-directory name of one SNR level: ``snr_0.1``, ``snr_100``, ``snr_inf``."""
    return "snr_inf" if math.isinf(snr) else f"snr_{snr:g}"


def particle_filename(index: int) -> str:
    """Relative path of particle ``index`` (0-based): ``subtomograms/p000001.mrc``."""
    return f"subtomograms/p{index + 1:06d}.mrc"


def reference_filename(class_number: int, name: str) -> str:
    """Relative path of a class template: ``references/class01_3jb9.mrc``."""
    safe = "".join(c if (c.isalnum() or c in "._-") else "_" for c in name)
    return f"references/class{class_number:02d}_{safe}.mrc"


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate_to_directory` wrote.

    Attributes
    ----------
    out_dir : pathlib.Path
        The output directory.
    dataset_dirs : dict
        SNR → dataset directory (``out_dir`` itself for a single SNR).
    n_particles : int
    wall_time_s : float
    """

    out_dir: Path
    dataset_dirs: dict[float, Path]
    n_particles: int
    wall_time_s: float


class _Stats:
    """Streaming mean/std of all voxels (float64)."""

    def __init__(self) -> None:
        self.n = 0
        self.s = 0.0
        self.s2 = 0.0

    def add(self, x: np.ndarray) -> None:
        x64 = x.astype(np.float64)
        self.n += x64.size
        self.s += float(x64.sum())
        self.s2 += float((x64 * x64).sum())

    def mean_std(self) -> tuple[float, float]:
        mean = self.s / self.n
        var = max(self.s2 / self.n - mean * mean, 0.0)
        return mean, math.sqrt(var)


def _zscore(x: np.ndarray) -> np.ndarray:
    std = float(x.std())
    return (x - x.mean()) / std if std > 0 else x - x.mean()


def _structure_record(k: int, s: Structure, info: DensityInfo) -> dict:
    shipped = resolve_structure_name(s.name) if s.source.startswith("jimnet:") else None
    return {
        "class_number": k,
        "name": s.name,
        "source": s.source,
        "form": "density map" if s.kind == "map" else "points (atoms or residue beads)",
        "stands_in_for": shipped.paper_id if shipped else None,
        "n_points": None if s.points_zyx is None else len(s.points_zyx),
        "map_voxel_size_angst": s.map_voxel_size,
        "radius_of_gyration_angst": round(info.radius_of_gyration, 3),
        "fraction_outside_box": info.fraction_outside,
        "template": reference_filename(k, s.name),
    }


def _imaging_record(config: SimulationConfig, imager) -> dict:
    rec: dict = {"mode": config.mode}
    if isinstance(imager, TiltSeriesImager):
        tp = imager.projector
        f = imager.detector_filters
        rec.update({"n_tilts": tp.n_tilts, "tilt_angles_deg": list(tp.tilts_deg),
                    "detector_width": tp.detector_width,
                    "noise_gain_pre_ctf": float(f["gain_ctf"]),
                    "noise_gain_post_ctf": float(f["gain_mtf"])})
    if isinstance(imager, FourierImager):
        f = imager.filters
        rec.update({"noise_gain_pre_ctf": float(f["gain_noise1"]),
                    "noise_gain_post_ctf": float(f["gain_noise2"]),
                    "aitom_corrfac": float(1.0 / f["gain_aitom"])})
        if config.snr_definition == "aitom" and not config.bandpass:
            rec["aitom_true_snr"] = aitom_effective_snr(config)
    return rec


def simulate_to_directory(
    out_dir: str | Path,
    structures: Sequence[Structure],
    n_per_class: int,
    config: SimulationConfig,
    *,
    snrs: Sequence[float] | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    command: str | None = None,
) -> SimulationResult:
    """Simulate ``n_per_class`` particles of each structure and write them to ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Output directory; must not exist or be empty unless ``force`` (then it is replaced).
    structures : sequence of Structure
        Class ``k`` (1-based) is ``structures[k − 1]``.
    n_per_class : int
        Particles per class (≥ 1).
    config : SimulationConfig
        All imaging parameters; ``config.snr`` is used when ``snrs`` is None.
    snrs : sequence of float, optional
        Several SNR levels → one sub-directory each (:func:`snr_dirname`), same particles.
    force : bool
        Replace an existing non-empty ``out_dir``.
    progress : callable, optional
        ``progress(stage, advance, total)``.
    command : str, optional
        Command line recorded in ``simulation.json``.

    Returns
    -------
    SimulationResult

    Raises
    ------
    JimnetInputError
        Bad parameters or an existing output without ``force``.
    """
    t0 = time.perf_counter()
    if n_per_class < 1:
        raise JimnetInputError(f"n-per-class must be >= 1, got {n_per_class}")
    if not structures:
        raise JimnetInputError("no structures given")
    snr_list = [float(config.snr)] if not snrs else [float(s) for s in snrs]
    for snr in snr_list:
        config.with_(snr=snr)  # validates
    if len(set(snr_list)) != len(snr_list):
        raise JimnetInputError(f"SNR values must be distinct, got {snr_list}")
    target = Path(out_dir).expanduser().absolute()
    if target.exists() and not target.is_dir():
        raise JimnetInputError(f"output exists and is not a directory: {target}")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise JimnetInputError(f"output directory is not empty: {target} (use --force)")

    densities, infos = [], []
    for s in structures:
        d, info = structure_density(s, config.box, config.voxel_size, config.resolution)
        densities.append(d)
        infos.append(info)
    dens = np.stack(densities)
    templates = [noise_free_template(d, config) for d in densities]
    truth = draw_truth(n_per_class, len(structures), config)
    imager = make_imager(config)
    n = len(truth)
    multi = snrs is not None and len(snr_list) > 1

    with atomic_output_dir(target, force=target.exists()) as tmp:
        dirs = {snr: (tmp / snr_dirname(snr) if multi else tmp) for snr in snr_list}
        for d in dirs.values():
            (d / "subtomograms").mkdir(parents=True)
            (d / "references").mkdir()
        buffers: dict[float, np.ndarray] = {}
        stats = {snr: _Stats() for snr in snr_list}
        if config.normalize == "global":
            for i, snr in enumerate(snr_list):
                buffers[snr] = np.lib.format.open_memmap(
                    tmp / f".raw_{i}.npy", mode="w+", dtype=np.float32,
                    shape=(n, *config.shape))

        def report(stage: str, total: int) -> Callable[[int], None]:
            return lambda k: progress(stage, k, total) if progress else None

        need_noise = any(math.isfinite(s) for s in snr_list)
        for batch in simulate_batches(dens, truth, config, imager=imager, with_noise=need_noise,
                                      progress=report("simulate", n)):
            for snr in snr_list:
                vols = imager.combine(batch.signal, batch.noise, batch.ref_var, snr)
                vols = vols.cpu().numpy()
                if config.normalize == "global":
                    buffers[snr][batch.indices] = vols
                    stats[snr].add(vols)
                    continue
                for i, vol in zip(batch.indices, vols, strict=True):
                    out = _zscore(vol) if config.normalize == "particle" else vol
                    write_volume(dirs[snr] / particle_filename(int(i)), out, config.voxel_size)
                report("write", n * len(snr_list))(len(vols))
        for snr in buffers:
            mean, std = stats[snr].mean_std()
            raw = buffers[snr]
            for i in range(n):
                vol = (raw[i] - mean) / (std if std > 0 else 1.0)
                write_volume(dirs[snr] / particle_filename(i), vol, config.voxel_size)
                if (i + 1) % 64 == 0 or i + 1 == n:
                    report("write", n * len(snr_list))((i % 64) + 1)
            del raw
        buffers.clear()
        for i in range(len(snr_list)):
            (tmp / f".raw_{i}.npy").unlink(missing_ok=True)

        wall = time.perf_counter() - t0
        for snr, d in dirs.items():
            _write_dataset_files(d, structures, infos, templates, truth, config.with_(snr=snr),
                                 imager, n_per_class, wall, command)
    wall = time.perf_counter() - t0
    out_dirs = {snr: (target / snr_dirname(snr) if multi else target) for snr in snr_list}
    return SimulationResult(target, out_dirs, n, wall)


def _write_dataset_files(
    d: Path,
    structures: Sequence[Structure],
    infos: Sequence[DensityInfo],
    templates: Sequence[np.ndarray],
    truth: ParticleTruth,
    config: SimulationConfig,
    imager,
    n_per_class: int,
    wall: float,
    command: str | None,
) -> None:
    for k, (s, template) in enumerate(zip(structures, templates, strict=True), start=1):
        write_volume(d / reference_filename(k, s.name), _zscore(template), config.voxel_size)
    n = len(truth)
    angles, origins = pose_to_relion(truth.rotations, truth.shifts, config.voxel_size)
    origins = origins + 0.0  # no "-0.000000" in the STAR file
    table = make_particles_table(
        [particle_filename(i) for i in range(n)],
        angles_deg=angles,
        origins_xyz_angst=origins,
        class_numbers=truth.class_numbers,
        tilt_ranges_deg=(config.tilt_min, config.tilt_max),
    )
    table["rlnRandomSubset"] = 1 + np.arange(n) % 2
    optics = make_optics_table(config.voxel_size, config.box, voltage_kv=config.voltage_kv,
                               spherical_aberration_mm=config.cs_mm,
                               amplitude_contrast=config.amplitude_contrast)
    write_particle_star(d / "particles.star", ParticleStar(particles=table, optics=optics))
    meta = {
        "jimnet_version": jimnet.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "command": command,
        "seed": config.seed,
        "snr": "inf" if math.isinf(config.snr) else config.snr,
        "n_classes": len(structures),
        "n_per_class": n_per_class,
        "n_particles": n,
        "parameters": config.to_dict(),
        "units": {"voxel_size": "Å", "resolution": "Å (Situs, Gaussian sigma = R/(2*sqrt(3)))",
                  "tilts": "degrees, right-handed about +y (array axis 1), beam along z",
                  "max_shift": "voxels", "defocus_um": "µm, negative = underfocus",
                  "snr": "var(noise-free subtomogram)/var(noise), over the whole box"},
        "imaging": _imaging_record(config, imager),
        "structures": [_structure_record(k, s, info) for k, (s, info)
                       in enumerate(zip(structures, infos, strict=True), start=1)],
        "files": {"particles": "particles.star", "subtomograms": "subtomograms/p%06d.mrc",
                  "references": "references/classKK_<name>.mrc (z-scored noise-free templates)"},
        "wall_time_s": round(wall, 3),
    }
    atomic_write_text(d / "simulation.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
