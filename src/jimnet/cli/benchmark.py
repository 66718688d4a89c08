"""``jimnet benchmark``: the paper's tables S1–S10 (ours beside the paper's) from one command."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from jimnet.benchmark.scales import METHODS, SCALES, get_scale
from jimnet.cli.common import (
    handle_input_errors,
    parse_snrs,
    parse_symmetry,
    stage_progress,
    stdout_console,
)
from jimnet.errors import JimnetInputError

__all__ = ["benchmark_command"]


class ScaleName(StrEnum):
    """Size presets (:mod:`jimnet.benchmark.scales`)."""

    smoke = "smoke"
    cpu = "cpu"
    gpu = "gpu"
    paper = "paper"


_SCALE_HELP = "; ".join(
    f"'{s.name}': {s.n_per_class}/class, {s.pairs_per_class} pairs/class, {s.epochs}+"
    f"{s.finetune_epochs} epochs, width {s.width:g}, SNRs {','.join(f'{x:g}' for x in s.snrs)}"
    f" — {s.estimate}" for s in SCALES.values())


def _command(out: Path, data: Path | None, methods: list[str] | None, scale: str,
             snr: list[str] | None, seed: int, device: str, force: bool,
             network_config: str = "default", symmetry: list[str] | None = None) -> str:
    """The command line as it would reproduce this run (every option explicit)."""
    args = ["jimnet", "benchmark", "--out", str(out), "--scale", scale, "--seed", str(seed),
            "--device", device, "--network-config", network_config]
    if data is not None:
        args += ["--data", str(data)]
    if methods:
        args += ["--methods", ",".join(methods)]
    for value in snr or []:
        args += ["--snr", value]
    for value in symmetry or []:
        args += ["--symmetry", value]
    if force:
        args.append("--force")
    return shlex.join(args)


def parse_class_symmetries(values: list[str] | None) -> dict[int, str]:
    """``--symmetry``: one group for every class or one per class → {class number: group}."""
    from jimnet.benchmark.runner import N_CLASSES

    groups = [parse_symmetry(v) for value in values or [] for v in value.split(",") if v.strip()]
    if len(groups) == 1:
        groups *= N_CLASSES
    if groups and len(groups) != N_CLASSES:
        raise JimnetInputError(f"--symmetry: give one group or {N_CLASSES} (one per class), "
                               f"got {len(groups)}")
    return dict(enumerate(groups, start=1))


def _printer(console: Console) -> Callable[[str], None]:
    """Print plain text: no rich markup (``[12 s]``), no re-wrapping of table lines."""
    return lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True)


@handle_input_errors
def benchmark_command(
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Results directory (written atomically; must not exist unless "
        "--force): README.md; alignment_S1_5LQW … alignment_S5_5MPA and clustering_S6_5LQW … "
        "clustering_S10_5MPA (.md + .csv, one per structure); alignment_summary and "
        "clustering_summary (.md + .csv, 5-structure averages); alignment_vs_snr.png, "
        "clustering_vs_snr.png; results.json; benchmark.log (one line per method and SNR); "
        "runs/ (trained models); data/ (unless --data).",
        show_default=False)],
    data: Annotated[Path | None, typer.Option(
        "--data", help="Dataset root holding one DIR/snr_VALUE/particles.star per SNR (e.g. "
        "DIR/snr_0.1/, as written by 'jimnet simulate --benchmark paper --snr 100,0.1 --out "
        "DIR'); SNRs missing there are simulated into it. "
        "Default: OUT/data.", show_default=False)] = None,
    methods: Annotated[list[str] | None, typer.Option(
        "--methods", "-m", help=f"Comma-separated or repeated: {', '.join(METHODS)}. 'oracle' "
        "= each particle aligned to its true noise-free template by exhaustive search (the "
        "floor any method can reach); 'jimnet' gives Jim-Net's alignment, GMM and M_CP rows; "
        "'jimnet-cluster' = the clustering-only ablation; 'spectral' = the spectral clustering "
        "baseline (wedge-aware shell power spectra → PCA → GMM); 'predict' = jimnet predict's "
        "network-free defaults (auto clusters, classical reference-free alignment with "
        "reassignment), K given, scored as a clustering and, through the relative poses of "
        "the protocol's pairs, as an alignment. [default: all]",
        show_default=False)] = None,
    scale: Annotated[ScaleName, typer.Option(
        "--scale", help=f"Size preset. {_SCALE_HELP}.")] = ScaleName.smoke,
    snr: Annotated[list[str] | None, typer.Option(
        "--snr", help="SNR levels to report, repeatable or comma-separated (default: the "
        "scale's). Networks are always trained at SNR 100 first and fine-tuned on the others.",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation and every training run.")
                    ] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    network_config: Annotated[str, typer.Option(
        "--network-config", help="Gum-Net/Jim-Net training configuration: 'default' (jimnet's "
        "defaults: bounded axis-angle heads starting at the identity, BatchNorm recalibration, "
        "guards, masked loss) or 'paper' (the paper-faithful networks and schedule settings).")
    ] = "default",
    symmetry: Annotated[list[str] | None, typer.Option(
        "--symmetry", help="Point group of each class's structure for the pose errors (the "
        "error to the nearest symmetry mate): one group for all classes or one per class in "
        "class order, comma-separated or repeated (e.g. C1,C1,D4,C1,C1). Groups: C1 (none), "
        "Cn, Dn (n-fold axis along z, a 2-fold along x), T, O, I. [default: C1]",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars or log lines.")
                     ] = False,
) -> None:
    """Reproduce the Jim-Net supplement's tables S1–S10 on simulated data, with the paper's
    numbers in the column beside ours.

    Alignment (S1–S5, one per structure): same-class pairs with known relative poses; rotation
    error = ‖R_true − R_pred‖_F (Frobenius norm, dimensionless, 0 … 2√2, about 2.40 for random
    rotations); translation error = ‖round(t_true) − round(t_pred)‖₂ in voxels; mean ± std.
    Clustering (S6–S10): accuracy in % of each structure's particles in the cluster matched to
    it (Hungarian). Every output records the command, seed, scale, sizes, wall time and device.
    """
    from jimnet.benchmark.runner import run_benchmark
    from jimnet.io import check_can_write

    check_can_write(out, force)
    symmetries = parse_class_symmetries(symmetry)
    console = stdout_console()
    preset = get_scale(scale.value)
    command = _command(out, data, methods, scale.value, snr, seed, device, force,
                       network_config, symmetry)
    with stage_progress(console, quiet=quiet) as progress:
        results = run_benchmark(
            out, scale=preset, methods=methods, snrs=parse_snrs(snr) if snr else None,
            data=data, seed=seed, device=device, force=force, progress=progress,
            log=None if quiet else _printer(console), command=command,
            network_config=network_config, symmetries=symmetries)
    if not quiet:
        for name in ("alignment_summary.md", "clustering_summary.md"):
            _printer(console)((out / name).read_text(encoding="utf-8"))
    console.print(f"wrote {out}/ (README.md, tables S1–S10, summaries, plots) in "
                  f"{results.meta['wall_time_s']:.0f} s")
