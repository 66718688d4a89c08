"""``jimnet simulate``: build simulated subtomogram benchmark sets (STAR + MRC + templates)."""

from __future__ import annotations

import shlex
import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jimnet.cli.common import handle_input_errors, parse_snrs, stdout_console
from jimnet.errors import JimnetInputError
from jimnet.simulate.structures import PAPER_BENCHMARK, SHIPPED_STRUCTURES

__all__ = ["simulate"]


class Benchmark(StrEnum):
    """Named structure sets."""

    paper = "paper"


class Mode(StrEnum):
    """Imaging modes."""

    tiltseries = "tiltseries"
    fourier = "fourier"


class Normalize(StrEnum):
    """Output scaling."""

    global_ = "global"
    particle = "particle"
    none = "none"


class SnrDefinition(StrEnum):
    """Noise scaling of the fourier mode."""

    exact = "exact"
    aitom = "aitom"


_SHIPPED = ", ".join(f"{s.name} ({s.paper_id})" for s in SHIPPED_STRUCTURES)


@handle_input_errors
def simulate(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output directory (must not exist or be empty, unless "
                     "--force). Several --snr values → one DIR/snr_VALUE/ per level.",
                     show_default=False),
    ],
    benchmark: Annotated[
        Benchmark | None,
        typer.Option("--benchmark", help="Named structure set. 'paper': the five Jim-Net classes "
                     f"via shipped stand-ins, class 1…5 = {', '.join(PAPER_BENCHMARK)}.",
                     show_default=False),
    ] = None,
    structure: Annotated[
        list[str] | None,
        typer.Option("--structure", "-s", help="Structure, repeatable (one class each, after "
                     "the --benchmark classes): a PDB/mmCIF model, residue-bead TSV or MRC map "
                     f"(optionally .gz), or a shipped name: {_SHIPPED}.", show_default=False),
    ] = None,
    snr: Annotated[
        list[str] | None,
        typer.Option("--snr", help="SNR = var(signal)/var(noise) of the final subtomogram; "
                     "repeatable or comma-separated (e.g. 100,0.1,0.05,0.03,0.01); 'inf' = "
                     "noise-free. [default: 0.1]", show_default=False),
    ] = None,
    n_per_class: Annotated[
        int, typer.Option("--n-per-class", "-n", min=1, help="Particles per class.")
    ] = 100,
    mode: Annotated[
        Mode, typer.Option("--mode", help="'tiltseries': project every tilt, noise, 2D CTF, "
                           "noise, weighted back-projection. 'fourier': fast 3D CTF and "
                           "missing-wedge masks.")
    ] = Mode.tiltseries,
    seed: Annotated[
        int, typer.Option("--seed", help="Global seed; particle i depends only on (seed, i).")
    ] = 0,
    box: Annotated[int, typer.Option("--box", help="Box edge in voxels (>= 8).")] = 32,
    voxel_size: Annotated[
        float, typer.Option("--voxel-size", help="Voxel size in Å (12 Å = 1.2 nm); also the "
                            "CTF pixel size.")
    ] = 12.0,
    resolution: Annotated[
        float, typer.Option("--resolution", help="Density resolution R in Å (Situs: Gaussian "
                            "sigma = R/(2*sqrt(3))); maps are only blurred if sharper.")
    ] = 12.0,
    tilt_range: Annotated[
        tuple[float, float], typer.Option("--tilt-range", help="MIN MAX tilt angles in degrees "
                                          "(-90 ≤ MIN < MAX ≤ 90), right-handed about the y "
                                          "axis (array axis 1); beam along z (array axis 0).")
    ] = (-60.0, 60.0),
    tilt_step: Annotated[
        float, typer.Option("--tilt-step", help="Degrees between projections (tiltseries).")
    ] = 1.0,
    max_shift: Annotated[
        float, typer.Option("--max-shift-vox", help="Shifts uniform in ±MAX voxels per axis "
                            "(MAX × --voxel-size in Å; align's --max-shift is in Å).")
    ] = 6.0,
    integer_shifts: Annotated[
        bool, typer.Option("--integer-shifts/--subvoxel-shifts", help="Integer shifts (AITom) "
                           "or uniform sub-voxel shifts.")
    ] = True,
    defocus: Annotated[
        float, typer.Option("--defocus", help="Defocus in µm; negative = underfocus.")
    ] = -2.0,
    voltage: Annotated[float, typer.Option("--voltage", help="Voltage in kV.")] = 300.0,
    cs: Annotated[float, typer.Option("--cs", help="Spherical aberration in mm.")] = 2.7,
    amplitude_contrast: Annotated[
        float, typer.Option("--amplitude-contrast", help="Amplitude contrast fraction (AITom: "
                            "0).")
    ] = 0.0,
    invert_contrast: Annotated[
        bool, typer.Option("--invert-contrast/--no-invert-contrast", help="Protein dark (as in "
                           "cryo-ET) or bright.")
    ] = True,
    detector_lowpass: Annotated[
        bool, typer.Option("--detector-lowpass/--white-detector-noise", help="AITom's soft "
                           "low-pass on the post-CTF noise half, or white.")
    ] = True,
    snr_definition: Annotated[
        SnrDefinition, typer.Option("--snr-definition", help="fourier mode: 'exact' (measured "
                                    "SNR = --snr) or 'aitom' (AITom's noise scaling, much "
                                    "noisier than its nominal SNR).")
    ] = SnrDefinition.exact,
    bandpass: Annotated[
        bool, typer.Option("--bandpass", help="fourier mode: AITom's band-pass before and after "
                           "the noise.")
    ] = False,
    normalize: Annotated[
        Normalize, typer.Option("--normalize", help="Written subtomograms: 'global' (x − mean)/"
                                "std over the whole set (Gum-Net), 'particle' z-score, 'none'.")
    ] = Normalize.global_,
    map_voxel_size: Annotated[
        float | None, typer.Option("--map-voxel-size", help="Voxel size in Å of input maps "
                                   "whose MRC header has none.", show_default=False)
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Particles per batch (speed/memory only).")
    ] = 32,
    device: Annotated[str, typer.Option("--device", help="torch device, e.g. cpu, cuda.")] = "cpu",
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing non-empty output directory.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Simulate subtomograms of one or more structures (one class each) and write a dataset.

    Writes DIR/particles.star (RELION 5: truth pose as rlnAngleRot/Tilt/Psi in degrees, RELION
    ZYZ, reference → particle, and rlnOrigin{X,Y,Z}Angst in Å; true class in rlnClassNumber;
    tilt range in jimnetTiltMin/Max), DIR/subtomograms/p000001.mrc … (float32, voxel size set),
    DIR/references/classKK_NAME.mrc (noise-free templates: SNR ∞, no missing wedge, same CTF)
    and DIR/simulation.json. Example: jimnet simulate --benchmark paper --snr 0.1
    --n-per-class 500 --out sim/.
    """
    from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory

    specs = list(PAPER_BENCHMARK) if benchmark is not None else []
    specs += list(structure or [])
    if not specs:
        raise JimnetInputError("give --benchmark paper and/or at least one --structure")
    snrs = parse_snrs(snr)
    try:
        import torch

        torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise JimnetInputError(f"--device: invalid torch device {device!r}") from exc
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise JimnetInputError(f"--device {device}: CUDA is not available")
    config = SimulationConfig(
        mode=mode.value, snr=snrs[0], box=box, voxel_size=voxel_size, resolution=resolution,
        tilt_min=tilt_range[0], tilt_max=tilt_range[1], tilt_step=tilt_step,
        max_shift=max_shift, integer_shifts=integer_shifts, voltage_kv=voltage, cs_mm=cs,
        defocus_um=defocus, amplitude_contrast=amplitude_contrast,
        invert_contrast=invert_contrast, detector_lowpass=detector_lowpass,
        bandpass=bandpass, snr_definition=snr_definition.value, normalize=normalize.value,
        seed=seed, batch_size=batch_size, device=device,
    )
    target = out.expanduser().absolute()
    if target.is_dir() and any(target.iterdir()) and not force:
        raise JimnetInputError(f"output directory is not empty: {target} (use --force)")
    structures = [load_structure(s, map_voxel_size=map_voxel_size) for s in specs]
    names = [s.name for s in structures]
    if len(set(names)) != len(names):
        structures = [replace(s, name=f"{s.name}_{k}") for k, s in enumerate(structures, start=1)]

    console = stdout_console()
    command = shlex.join(["jimnet", *sys.argv[1:]]) if sys.argv else None
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    n_total = n_per_class * len(structures)
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        tasks = {"simulate": bar.add_task("simulate", total=n_total),
                 "write": bar.add_task("write", total=n_total * len(snrs))}

        def progress(stage: str, advance: int, total: int) -> None:
            bar.update(tasks[stage], advance=advance, total=total)

        result = simulate_to_directory(out, structures, n_per_class, config,
                                       snrs=snrs if len(snrs) > 1 else None, force=force,
                                       progress=progress, command=command)
    rate = result.n_particles / result.wall_time_s if result.wall_time_s > 0 else float("inf")
    console.print(f"wrote {result.n_particles} particles × {len(snrs)} SNR level(s) "
                  f"({len(structures)} classes: {', '.join(s.name for s in structures)}) to "
                  f"{result.out_dir} in {result.wall_time_s:.1f} s ({rate:.1f} particles/s, "
                  f"mode {config.mode})")
