"""``jimnet average``: per-class wedge-weighted averages, half maps and FSC curves (STAR input)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jimnet.cli.common import (
    AlignMethod,
    SymmetryOption,
    handle_input_errors,
    make_params,
    parse_symmetry,
    stage_progress,
    stdout_console,
)
from jimnet.errors import JimnetInputError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from jimnet.align import AlignParams
    from jimnet.io import ParticleSet

__all__ = ["average_command", "half_sets"]


def half_sets(particles: ParticleSet, seed: int) -> np.ndarray:
    """Half-set (1 or 2) of every particle: ``rlnRandomSubset`` if present, else a seeded split."""
    import numpy as np

    table = particles.table
    if "rlnRandomSubset" in table.columns:
        subset = np.asarray(table["rlnRandomSubset"], dtype=np.int64)
        if not set(np.unique(subset)) <= {1, 2}:
            raise JimnetInputError(f"{particles.star_path}: rlnRandomSubset must be 1 or 2")
        return subset
    rng = np.random.default_rng(seed)
    subset = np.ones(len(particles), dtype=np.int64)
    subset[rng.permutation(len(particles))[1::2]] = 2
    return subset


def _into_reference_frame(average: torch.Tensor, known: torch.Tensor, params: AlignParams,
                          method: str, device: torch.device) -> torch.Tensor:
    """Rigidly bring a reference-free average into the frame of a known map."""
    from jimnet.align import align
    from jimnet.geometry import invert_pose
    from jimnet.transform import rigid_transform

    rot, shift, _ = align(known, average, method=method, params=params, device=device)
    inv_r, inv_t = invert_pose(rot, shift)
    return rigid_transform(average, inv_r.float(), inv_t.float())


def _read_known(path: Path, box: int, px: float) -> torch.Tensor:
    import numpy as np
    import torch

    from jimnet.io import read_volume

    vol, voxel = read_volume(path, allow_zero_voxel_size=True)
    if vol.shape != (box,) * 3:
        raise JimnetInputError(f"{path}: box {vol.shape} differs from the particles' {(box,) * 3}")
    if voxel and not math.isclose(voxel, px, rel_tol=1e-3):
        raise JimnetInputError(f"{path}: voxel size {voxel:g} Å differs from the particles' "
                               f"{px:g} Å")
    return torch.from_numpy(np.ascontiguousarray(vol))


@handle_input_errors
def average_command(
    particles: Annotated[
        Path, typer.Argument(help="Particle STAR file with poses (rlnAngle*, rlnOrigin*Angst; "
                             "reference → particle) and classes (rlnClassNumber; one class if "
                             "absent).", show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory (replaced only with --force).",
                           show_default=False)
    ],
    iterations: Annotated[
        int, typer.Option("--iterations", "-i", min=0, help="0: average with the STAR poses. "
                          "N > 0: reference-free iterative alignment + averaging per class "
                          "(initial reference: a seeded random particle), N rounds; refined "
                          "poses are written to OUT/particles.star.")
    ] = 0,
    reference: Annotated[
        list[Path] | None, typer.Option("--reference", "-r", help="Known map (MRC): FSC of the "
                                        "class average against it at 0.5 (reference-free "
                                        "averages are first aligned onto it). Give it once "
                                        "for all classes or once per class, in class order.",
                                        show_default=False)
    ] = None,
    method: Annotated[
        AlignMethod, typer.Option("--method", "-m", help="Aligner for --iterations.")
    ] = AlignMethod.ht,
    angular_step: Annotated[
        float, typer.Option("--angular-step", min=1.0, help="Global rotation grid step "
                            "(degrees) for --iterations.")
    ] = 15.0,
    particle_radius: Annotated[
        float | None, typer.Option("--particle-radius", help="Particle radius in Å for the "
                                   "alignment masks.", show_default=False)
    ] = None,
    symmetry: SymmetryOption = "C1",
    floor: Annotated[
        float, typer.Option("--floor", min=0.0, help="Wedge-weight floor as a fraction of the "
                            "class size (frequencies seen by fewer particles are damped).")
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the half split and initial "
                                      "reference.")] = 0,
    pixel_size: Annotated[
        float | None, typer.Option("--pixel-size", help="Voxel size in Å, overriding the "
                                   "STAR/MRC headers.", show_default=False)
    ] = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Replace --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Wedge-weighted average, half maps and FSC of each class (file names as predict, refine).

    Writes OUT/class_NNN.mrc, class_NNN_half1.mrc, class_NNN_half2.mrc, fsc_NNN.csv
    (NNN = rlnClassNumber), fsc.png and summary.json.

    Particles are moved into the reference frame by the inverse of their pose and averaged in
    Fourier space, each frequency divided by the summed (rotated) wedge weights; with
    --symmetry every particle is added once per symmetry mate of its pose (a symmetrised
    average). FSC between the two half-set averages uses the 0.143 threshold (fsc_NNN.csv);
    against --reference 0.5 (fsc_NNN_reference.csv). Resolutions in Å (summary.json, plots).
    """
    import numpy as np
    import torch

    from jimnet.average import (
        HALF_MAP_THRESHOLD,
        KNOWN_MAP_THRESHOLD,
        FSCResult,
        compute_fsc,
        iterative_average,
        plot_fsc,
        wedge_weighted_average,
    )
    from jimnet.device import resolve_device
    from jimnet.io import (
        ParticleSet,
        atomic_output_dir,
        check_can_write,
        write_particle_star,
        write_volume,
    )
    from jimnet.io.names import class_map_name, fsc_csv_name

    check_can_write(out, force)
    symmetry = parse_symmetry(symmetry)
    dev = resolve_device(device)
    ps = ParticleSet.from_star(particles, pixel_size=pixel_size)
    px = ps.pixel_size
    params = make_params(angular_step, 1.0, 10, 0.35, None, particle_radius, px, symmetry)
    known = [_read_known(path, ps.box_size, px) for path in (reference or [])]
    classes = ps.class_numbers()
    classes = np.ones(len(ps), dtype=np.int64) if classes is None else classes
    class_ids = np.unique(classes)
    if len(known) not in (0, 1, len(class_ids)):
        raise JimnetInputError(f"--reference: give 1 map or one per class ({len(class_ids)}), "
                               f"got {len(known)}")
    halves = half_sets(ps, seed)
    rot_all, shift_all = ps.poses()
    rot_all, shift_all = rot_all.copy(), shift_all.copy()
    tilts = ps.tilt_ranges()
    wedges = [(float(a), float(b)) for a, b in tilts]
    console = stdout_console()
    summary: list[dict] = []
    curves_all: dict[str, FSCResult] = {}
    t0 = time.perf_counter()
    with atomic_output_dir(out, force=force) as tmp, stage_progress(console, quiet=quiet) as bar:
        for ci, k in enumerate(class_ids):
            k = int(k)
            idx = np.flatnonzero(classes == k)
            vols = ps.get_batch(idx)
            w = [wedges[i] for i in idx]
            if iterations > 0:
                res = iterative_average(
                    vols, w, n_iterations=iterations, method=method.value, params=params,
                    seed=seed, floor=floor, device=dev,
                    progress=lambda d, t, k=k: bar(f"class {k}", d, t),
                )
                rot_all[idx], shift_all[idx] = res.rotations.numpy(), res.shifts.numpy()
            rot = torch.as_tensor(rot_all[idx])
            sh = torch.as_tensor(shift_all[idx])
            full = wedge_weighted_average(vols, rot, sh, w, floor=floor, symmetry=symmetry)
            write_volume(tmp / class_map_name(k), full.numpy(), px)
            record: dict = {"class": k, "n_particles": len(idx)}
            h = halves[idx]
            curves: dict[str, FSCResult] = {}
            if (h == 1).any() and (h == 2).any():
                maps = []
                for half in (1, 2):
                    sel = torch.as_tensor(np.flatnonzero(h == half))
                    maps.append(wedge_weighted_average(
                        vols[sel], rot[sel], sh[sel], [w[i] for i in sel.tolist()], floor=floor,
                        symmetry=symmetry))
                    write_volume(tmp / class_map_name(k, half), maps[-1].numpy(), px)
                curves["half maps"] = compute_fsc(*maps, px, HALF_MAP_THRESHOLD)
                (tmp / fsc_csv_name(k)).write_text(curves["half maps"].to_csv(),
                                                    encoding="utf-8")
            if known:
                ref_map = known[ci if len(known) > 1 else 0]
                framed = full if iterations == 0 else _into_reference_frame(
                    full, ref_map, params, method.value, dev)
                curves["vs reference"] = compute_fsc(framed, ref_map, px, KNOWN_MAP_THRESHOLD)
                (tmp / fsc_csv_name(k, "reference")).write_text(
                    curves["vs reference"].to_csv(), encoding="utf-8")
            for name, r in curves.items():
                key = name.replace(" ", "_")
                curves_all[f"class {k} {name}"] = r
                record[f"resolution_{key}_angstrom"] = r.resolution
                record[f"threshold_{key}"] = r.threshold
                record[f"{key}_reached_nyquist"] = r.reached_nyquist
            summary.append(record)
            bar("classes", len(summary), len(class_ids))
        if curves_all:
            plot_fsc(curves_all, tmp / "fsc.png", title="FSC (resolution in Å)")
        if iterations > 0:
            # Image names are made relative to the final location (tmp is renamed to out).
            star = ps.updated_star(Path(out).absolute() / "particles.star", rotations=rot_all,
                                   shifts=shift_all)
            write_particle_star(tmp / "particles.star", star)
        info = {"particles": str(Path(particles).absolute()), "voxel_size_angstrom": px,
                "iterations": iterations, "method": method.value, "floor": floor,
                "symmetry": symmetry, "seed": seed, "wall_s": time.perf_counter() - t0,
                "classes": summary}
        (tmp / "summary.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if not quiet:
        for r in summary:
            parts = [f"class {r['class']}: {r['n_particles']} particles"]
            if "resolution_half_maps_angstrom" in r:
                parts.append(f"half-map FSC 0.143: {r['resolution_half_maps_angstrom']:.1f} Å")
            if "resolution_vs_reference_angstrom" in r:
                parts.append(f"vs reference FSC 0.5: "
                             f"{r['resolution_vs_reference_angstrom']:.1f} Å")
            console.print("; ".join(parts))
        console.print(f"wrote {Path(out).absolute()}")
