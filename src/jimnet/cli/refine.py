"""``jimnet refine``: multi-reference refinement with gold-standard half sets."""

from __future__ import annotations

import time
from datetime import UTC, datetime
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
from jimnet.errors import JimnetInputError

__all__ = ["refine_command"]


@handle_input_errors
def refine_command(
    particles: Annotated[
        Path, typer.Argument(help="Particle STAR file; rlnClassNumber and rlnAngle*/rlnOrigin* "
                             "are the starting classes/poses when present, rlnRandomSubset "
                             "(1/2) the half sets (assigned, seeded, when absent).",
                             show_default=False)
    ],
    classes: Annotated[
        int, typer.Option("--classes", "-k", min=1, help="Number of classes K.",
                          show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory: particles.star (every input "
                           "column kept), class_NNN.mrc, class_NNN_half{1,2}.mrc, fsc_NNN.csv, "
                           "fsc.png, refine_log.jsonl (per iteration), checkpoint.npz.",
                           show_default=False)
    ],
    iterations: Annotated[
        int, typer.Option("--iterations", "-n", min=1, help="Refinement rounds.")
    ] = 3,
    method: Annotated[
        AlignMethod, typer.Option("--method", "-m", help="Global search of the first round "
                                  "(later rounds search locally around the current pose).")
    ] = AlignMethod.ht,
    angular_step: Annotated[
        float, typer.Option("--angular-step", min=1.0, help="Global grid step, degrees.")
    ] = 15.0,
    local_step: Annotated[
        float, typer.Option("--local-step", min=0.5, help="First lattice step of the local "
                            "search, degrees.")
    ] = 5.0,
    final_step: Annotated[
        float, typer.Option("--final-step", help="Refinement stops at this step (degrees).")
    ] = 1.0,
    particle_radius: Annotated[
        float | None, typer.Option("--particle-radius", help="Particle radius in Å (mask "
                                   "around each particle) [default: sphere of radius box/2].",
                                   show_default=False)
    ] = None,
    symmetry: SymmetryOption = "C1",
    ignore_classes: Annotated[
        bool, typer.Option("--ignore-classes", help="Start from random classes.")
    ] = False,
    ignore_poses: Annotated[
        bool, typer.Option("--ignore-poses", help="Ignore input poses (global first round).")
    ] = False,
    fixed_classes: Annotated[
        bool, typer.Option("--fixed-classes", help="Keep the starting classes: align each "
                           "particle to its own class only (K times cheaper).")
    ] = False,
    score_rule: Annotated[
        str, typer.Option("--score-rule", help="What reassignment compares: 'centred' = each "
                          "class's scores minus their mean over the half set (removes the "
                          "pull of references that correlate higher with every particle), "
                          "'raw' = the constrained correlations.")
    ] = "centred",
    starts: Annotated[
        int, typer.Option("--starts", min=1, help="Without input poses: reference-free starts "
                          "(each from other seeded member particles, --start-rounds rounds); "
                          "per half set the start whose particles score highest is kept; with "
                          "--fixed-classes, per class the half-1 and half-2 starts whose "
                          "averages agree best.")
    ] = 1,
    start_rounds: Annotated[
        int, typer.Option("--start-rounds", min=1, help="Rounds of each start.")
    ] = 2,
    top_fraction: Annotated[
        float, typer.Option("--top-fraction", min=0.01, max=1.0, help="Global rounds average "
                            "only this fraction of each class's best-scoring members into its "
                            "reference.")
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Half sets, random classes.")] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 8,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "auto",
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from OUT/checkpoint.npz.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Restart in a non-empty OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Align every particle to each class average, reassign, re-average; halves kept apart.

    With --symmetry the class averages are symmetrised and the global search counts
    symmetry-mate poses once.
    """
    from jimnet.align.refine import CHECKPOINT, RefineConfig, refine, write_refinement
    from jimnet.device import resolve_device
    from jimnet.io import ParticleSet
    from jimnet.report import run_info, write_report

    symmetry = parse_symmetry(symmetry)
    ps = ParticleSet.from_star(particles, validate_values=False)
    if out.exists() and any(out.iterdir()) and not (resume or force):
        raise JimnetInputError(f"output directory not empty: {out} (use --resume or --force)")
    if resume and out.exists() and not (out / CHECKPOINT).exists() and not force:
        raise JimnetInputError(f"{out}: no {CHECKPOINT} to resume from")
    params = make_params(angular_step, final_step, 10, 0.35, None, particle_radius, ps.pixel_size,
                         symmetry)
    try:
        config = RefineConfig(n_classes=classes, n_iterations=iterations, method=method.value,
                              params=params, local_step=local_step,
                              use_input_classes=not ignore_classes,
                              use_input_poses=not ignore_poses, seed=seed,
                              reassign=not fixed_classes, score_rule=score_rule,
                              n_starts=starts,
                              start_rounds=start_rounds, top_fraction=top_fraction,
                              batch_size=batch_size)
    except ValueError as exc:
        raise JimnetInputError(str(exc)) from None
    console = stdout_console()
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    dev = resolve_device(device)

    def show(rec: dict) -> None:
        if not quiet:
            console.print(f"iteration {rec['iteration']}: sizes {rec['class_sizes']}, mean score "
                          f"{rec['mean_score']:.3f}, resolution (Å) "
                          f"{rec['resolution_angstrom']}")

    with stage_progress(console, quiet=quiet) as progress:
        result = refine(ps, config, out, resume=resume, device=dev,
                        progress=lambda d, t: progress("refine", d, t), log=show)
    write_refinement(result, ps, out)
    settings = {"particles": str(particles), "classes": classes, "out": str(out), "seed": seed,
                "iterations": config.n_iterations, "fixed_classes": fixed_classes,
                "starts": starts, "start_rounds": start_rounds, "top_fraction": top_fraction,
                "symmetry": symmetry}
    info = run_info("jimnet refine", settings, device=dev, started=started,
                    scores={"resolution_angstrom": result.resolutions})
    write_report(out, run_info=info, force=True)
    if not quiet:
        console.print(f"refined {len(ps)} particles in {time.perf_counter() - t0:.1f} s; "
                      f"wrote {out}")
