"""``jimnet align``: align every particle of a STAR file to a reference map (H-T or F&A align)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated

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

__all__ = ["align_command"]


@handle_input_errors
def align_command(
    particles: Annotated[
        Path, typer.Argument(help="Particle STAR file (RELION 3.1–5; tilt range from "
                             "jimnetTiltMin/Max, default -60/+60 degrees).", show_default=False)
    ],
    reference: Annotated[
        Path, typer.Option("--reference", "-r", help="Reference map (MRC, same box and voxel "
                           "size as the particles).", show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output STAR: every input column kept; "
                           "rlnAngleRot/Tilt/Psi (degrees, RELION ZYZ, rotating the reference "
                           "into the particle) and rlnOrigin{X,Y,Z}Angst (Å, moving the particle "
                           "onto the reference) replaced; score in jimnetAlignScore.",
                           show_default=False)
    ],
    method: Annotated[
        AlignMethod, typer.Option("--method", "-m", help="'ht': H-T align (amplitude ranking, "
                                  "translation per peak, local refinement); 'fa': F&A align "
                                  "(power-spectrum seeds, alternating translation/rotation); "
                                  "'exhaustive': full score on the whole grid.")
    ] = AlignMethod.ht,
    angular_step: Annotated[
        float, typer.Option("--angular-step", min=1.0, help="Global rotation grid step in "
                            "degrees (15 → 4,401 rotations; cost ∝ step⁻³).")
    ] = 15.0,
    final_step: Annotated[
        float, typer.Option("--final-step", help="Local refinement stops at this angular step "
                            "(degrees).")
    ] = 1.0,
    candidates: Annotated[
        int, typer.Option("--candidates", min=1, help="Global candidates refined locally.")
    ] = 10,
    max_freq: Annotated[
        float, typer.Option("--max-freq", help="Highest spatial frequency used, cycles/voxel "
                            "(0.5 = Nyquist).")
    ] = 0.35,
    max_shift: Annotated[
        float | None, typer.Option("--max-shift", help="Largest shift length in Å "
                                   "[default: any shift within the box].", show_default=False)
    ] = None,
    symmetry: SymmetryOption = "C1",
    particle_radius: Annotated[
        float | None, typer.Option("--particle-radius", help="Particle radius in Å: each "
                                   "volume is masked around its own particle (recommended at "
                                   "low SNR) [default: a sphere of radius box/2].",
                                   show_default=False)
    ] = None,
    reference_tilt_range: Annotated[
        tuple[float, float] | None, typer.Option("--reference-tilt-range", help="MIN MAX "
                                                 "degrees: missing wedge of the reference "
                                                 "[default: none].", show_default=False)
    ] = None,
    pixel_size: Annotated[
        float | None, typer.Option("--pixel-size", help="Voxel size in Å, overriding the "
                                   "STAR/MRC headers.", show_default=False)
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Particles aligned together.")
    ] = 8,
    device: Annotated[
        str, typer.Option("--device", help="cpu, cuda or auto.")
    ] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Align every particle to a reference and write RELION poses.

    The pose (R, t) found for a particle satisfies rigid_transform(reference, R, t) ≈ particle
    (reference → particle), exactly what RELION's rlnAngle*/rlnOrigin*Angst store, so applying
    the inverse of the written pose to each particle maps it onto the reference.
    """
    from jimnet.align import align_star
    from jimnet.device import resolve_device
    from jimnet.evaluate.truth import alignment_truth_errors
    from jimnet.io import ParticleSet, check_can_write

    check_can_write(out, force)
    symmetry = parse_symmetry(symmetry)
    dev = resolve_device(device)
    ps = ParticleSet.from_star(particles, pixel_size=pixel_size, validate_values=False)
    params = make_params(angular_step, final_step, candidates, max_freq, max_shift,
                         particle_radius, ps.pixel_size, symmetry)
    console = stdout_console()
    t0 = time.perf_counter()
    with stage_progress(console, quiet=quiet) as progress:
        res = align_star(
            particles, reference, out, method=method.value, params=params,
            reference_tilt_range=reference_tilt_range, device=dev, batch_size=batch_size,
            force=force, pixel_size=pixel_size,
            progress=lambda done, total: progress("align", done, total),
        )
    wall = time.perf_counter() - t0
    n = len(res.result.score)
    score = res.result.score
    if not quiet:
        console.print(f"aligned {n} particles with {method.value} on {dev.type} in {wall:.1f} s "
                      f"({n / max(wall, 1e-9):.2f} particles/s); mean score "
                      f"{float(score.mean()) if n else math.nan:.3f}; wrote {res.path}")
        truth = alignment_truth_errors(res.result.rotation.numpy(), res.result.shift.numpy(),
                                       ps, symmetry)
        if truth is not None:
            console.print(
                f"vs the poses in {particles} (symmetry {symmetry}): ‖ΔR‖_F "
                f"{truth['rotation_error']:.3f}, shift error "
                f"{truth['translation_error_vox']:.2f} vox (meaningful if the reference is in "
                "their frame)"
                + ("" if "pair_rotation_error" not in truth else
                   f"; pairs (frame-independent): ‖ΔR‖_F {truth['pair_rotation_error']:.3f}, "
                   f"shift error {truth['pair_translation_error_vox']:.2f} vox"))
