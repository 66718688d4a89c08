"""``jimnet train``: unsupervised training of Jim-Net (or Gum-Net, DeepCluster-3D, PICA-3D) on a
particle set."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from jimnet.cli.common import (
    ProgressCallback,
    handle_input_errors,
    require_at_least,
    require_positive,
    stage_progress,
    stdout_console,
    to_working_box,
)
from jimnet.errors import JimnetInputError

if TYPE_CHECKING:
    from jimnet.train.trainer import EpochResult

__all__ = ["train"]

MODELS = ("jimnet", "gumnet", "deepcluster", "pica")

#: What the columns of the final table mean (printed under it).
TABLE_CAPTION = (
    "loss: total training loss; align: alignment loss; clusters: GMM cluster sizes; changed: "
    "fraction of particles whose cluster changed since the last epoch; acc GMM / acc M_CP: "
    "clustering accuracy (Hungarian matching) of the GMM labels / of the cluster head M_CP's "
    "predictions against rlnClassNumber; ‖ΔR‖_F: mean rotation error of the training pairs' "
    "predicted poses against the STAR's poses (0 … 2√2; random rotations ≈ 2.40); Δt vox: "
    "their mean translation error in voxels; s: epoch wall time in seconds. – = not available "
    "(no truth in the STAR, or not computed by this model).")


def _with_estimate(progress: ProgressCallback, console: Console, epochs: int, start_epoch: int,
                   quiet: bool) -> ProgressCallback:
    """``progress`` that also prints the run's expected duration once the first training batch
    is done: (time of this epoch so far + batches × first batch's time) × epochs to go."""
    epoch_start = time.perf_counter()
    last = [epoch_start]
    said = [quiet]

    def callback(stage: str, done: int, total: int) -> None:
        progress(stage, done, total)
        now = time.perf_counter()
        if stage == "train" and done == 1 and not said[0]:
            said[0] = True
            batch = now - last[0]
            epoch = (last[0] - epoch_start) + batch * total
            left = epoch * (epochs - start_epoch)
            console.print(f"first batch took {batch:.1f} s: ≈ {epoch / 60:.1f} min per epoch "
                          f"({total} batches), ≈ {left / 60:.1f} min for the "
                          f"{epochs - start_epoch} epoch(s) to go (phases after the training "
                          "pass not included; updated after epoch 1)")
        last[0] = now

    return callback

DEFAULT_BOX = 32  # the size the networks were designed and measured at


def _model_box(path: Path) -> int:
    """Input box of the model in a model.pt/checkpoint.pt file."""
    from jimnet.models import load_checkpoint

    try:
        ckpt = load_checkpoint(path)
        return int(ckpt.get("model_checkpoint", ckpt)["config"]["input_size"])
    except (RuntimeError, ValueError, KeyError, TypeError, OSError) as exc:
        raise JimnetInputError(f"cannot read a jimnet model from {path}: {exc}") from None


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


@handle_input_errors
def train(
    particles: Annotated[Path, typer.Argument(help="Particle STAR file (RELION 3.1–5).",
                                              show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Run directory: checkpoint.pt, model.pt, "
                                      "metrics.jsonl, config.json.")],
    classes: Annotated[int, typer.Option("--classes", "-k", help="Number of clusters K.")] = 5,
    model: Annotated[str, typer.Option(help="jimnet (pair matching + clustering), gumnet "
                                       "(random pairs, alignment only), or the clustering "
                                       "baselines deepcluster and pica (3D CNN, "
                                       "single-process).")] = "jimnet",
    epochs: Annotated[int, typer.Option(help="Total epochs (a resumed run continues to this).")
                      ] = 10,
    width: Annotated[float, typer.Option(help="Network width multiplier; 1.0 = paper size, "
                                         "0.25 runs on a laptop CPU.")] = 0.25,
    batch_size: Annotated[int, typer.Option(help="Pairs per optimisation step.")] = 16,
    lr: Annotated[float, typer.Option(help="Learning rate of the alignment network (NAdam).")
                  ] = 1e-4,
    cluster_lr: Annotated[float, typer.Option(help="Learning rate of the cluster head.")
                          ] = 1e-4,
    tsne: Annotated[bool, typer.Option("--tsne/--no-tsne", help="t-SNE (3-D) before the GMM, "
                                       "as the paper; --no-tsne fits the GMM on raw features.")
                    ] = True,
    wedge_loss: Annotated[str | None, typer.Option(
        help="Missing wedge in the alignment loss: 'masked' (default: 1 − r² over the "
        "frequencies observed in both), 'imputed' (the paper: the source's missing wedge is "
        "filled with the target's data, which at low SNR rewards poses that merely move the "
        "wedge or push the source out of the box) or 'none'.", show_default=False)] = None,
    curriculum: Annotated[str | None, typer.Option(
        help="'self': train the alignment on in-basin pairs (each particle and a copy re-posed "
        "by a bounded residual that grows with the measured capture range; logged in "
        "metrics.jsonl); 'none': within-cluster (Jim-Net) or random (Gum-Net) pairs.",
        show_default=False)] = None,
    rotation_param: Annotated[str | None, typer.Option(
        help="Pose heads: 'axis_angle' (default: bounded, no gimbal lock, start at the "
        "identity) or 'euler' (the paper's sigmoid ZYZ angles).", show_default=False)] = None,
    paper_faithful: Annotated[bool, typer.Option(
        "--paper-faithful", help="The paper's networks and losses: Gum-Net random coarse "
        "bias, sigmoid ZYZ Euler heads with ±N/2 shifts, Keras BatchNorm momentum without "
        "recalibration, imputed loss, no guards (explicit options above still apply).")
    ] = False,
    cluster_only: Annotated[bool, typer.Option(
        "--cluster-only", help="Jim-Net ablation: train the clustering branch only (no "
        "alignment losses), the paper's 'Jim-Net (cluster)' row.")] = False,
    init: Annotated[Path | None, typer.Option(help="Start from this model.pt/checkpoint.pt "
                                              "(fine-tuning, e.g. from an SNR-100 model).",
                                              show_default=False)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its "
                                         "last checkpoint.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing run directory.")
                     ] = False,
    seed: Annotated[int, typer.Option(help="Seed of every random step.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    pixel_size: Annotated[float | None, typer.Option(help="Voxel size in Å (overrides the "
                                                     "STAR/MRC headers).", show_default=False)
                          ] = None,
    box: Annotated[int | None, typer.Option(
        help="Working box edge in voxels: particles in another box are Fourier-cropped or "
        "padded to it on read (the voxel size scales; the model records both and predict "
        "resamples its input to them). 0 = the particles' own box. Default: 32, or the --init "
        "model's box.", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Train on PARTICLES without labels. Tilt ranges (jimnetTiltMin/Max, degrees, default
    ±60) drive the missing-wedge imputation. True classes/poses in the STAR (rlnClassNumber,
    rlnAngle*, rlnOrigin*Angst), if present, are only used to log accuracy and pose errors.

    Several processes: torchrun --nproc-per-node N -m jimnet train ... (gloo on CPU, NCCL on GPU).
    """
    from jimnet.distributed import finish, init_from_environment, rank_and_world
    from jimnet.io import ParticleSet
    from jimnet.models.heads import ROTATION_PARAMS
    from jimnet.train.deepcluster import DeepClusterTrainer
    from jimnet.train.health import training_warnings
    from jimnet.train.pica import PicaTrainer
    from jimnet.train.trainer import CHECKPOINT_NAME, CURRICULA, WEDGE_LOSSES, TrainConfig, Trainer

    if model not in MODELS:
        raise JimnetInputError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    for name, value, allowed in (("--wedge-loss", wedge_loss, WEDGE_LOSSES),
                                 ("--curriculum", curriculum, CURRICULA),
                                 ("--rotation-param", rotation_param, ROTATION_PARAMS)):
        if value is not None and value not in allowed:
            raise JimnetInputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    if cluster_only and model != "jimnet":
        raise JimnetInputError("--cluster-only is an ablation of --model jimnet")
    require_at_least(("--classes", classes, 1), ("--epochs", epochs, 1),
                     ("--batch-size", batch_size, 2))
    require_positive(("--width", width), ("--lr", lr), ("--cluster-lr", cluster_lr))
    if box is not None and box < 0:
        raise JimnetInputError(f"--box must be ≥ 0 (0 = the particles' box), got {box}")
    if init is not None and not init.is_file():
        raise JimnetInputError(f"--init file not found: {init}")
    ckpt = out / CHECKPOINT_NAME
    if resume and not ckpt.is_file():
        raise JimnetInputError(f"--resume: no checkpoint at {ckpt}")
    start_model = ckpt if resume else init  # a model whose box the run must keep
    start_box = None if start_model is None else _model_box(start_model)
    if box is None:
        box = start_box or DEFAULT_BOX
    init_from_environment(device)
    is_main = rank_and_world()[0] == 0
    if not resume and is_main and out.exists() and any(out.iterdir()) and not force:
        raise JimnetInputError(f"run directory is not empty: {out} (use --force or --resume)")
    ps = ParticleSet.from_star(particles, pixel_size=pixel_size)
    if classes > len(ps):
        raise JimnetInputError(f"--classes {classes} exceeds the {len(ps)} particles in "
                               f"{particles}")
    box = box or ps.box_size
    if start_box is not None and start_box != box:
        raise JimnetInputError(f"{start_model} works in a {start_box}³ box, not {box}³: pass "
                               f"--box {start_box}")
    explicit = {k: v for k, v in (("wedge_loss", wedge_loss), ("curriculum", curriculum),
                                  ("rotation_param", rotation_param)) if v is not None}
    make = TrainConfig.paper_faithful if paper_faithful else TrainConfig
    config = make(model=model, n_clusters=classes, epochs=epochs, width=width,
                  batch_size=batch_size, lr=lr, cluster_lr=cluster_lr, use_tsne=tsne,
                  seed=seed, device=device, init=None if init is None else str(init),
                  cluster_only=cluster_only, **explicit)
    console = stdout_console()
    quiet = quiet or not is_main
    if not is_main:
        console.quiet = True
    ps = to_working_box(ps, box, console, "--box")
    table = Table("epoch", "loss", "align", "clusters", "changed", "acc GMM", "acc M_CP",
                  "‖ΔR‖_F", "Δt vox", "s", title=f"jimnet train ({model}, width {width})",
                  caption=TABLE_CAPTION)
    history: list[EpochResult] = []

    def report(r: EpochResult) -> None:
        history.append(r)
        console.print(
            f"epoch {r.epoch}: loss {r.losses.get('total', float('nan')):.4f}, clusters "
            f"{r.cluster_sizes or '–'}, acc GMM {_fmt(r.accuracy_gmm, '.3f')}, "
            f"‖ΔR‖_F {_fmt(r.rotation_error, '.3f')}, saturated {_fmt(r.saturated, '.3f')}"
            + ("" if r.capture_deg is None else
               f", capture {r.capture_deg:g}° / {r.capture_vox:g} vox") + f", {r.seconds:.1f} s")
        table.add_row(str(r.epoch), f"{r.losses.get('total', float('nan')):.4f}",
                      f"{r.losses.get('align', float('nan')):.4f}",
                      " ".join(map(str, r.cluster_sizes)) or "–",
                      _fmt(r.label_change, ".2f"), _fmt(r.accuracy_gmm, ".3f"),
                      _fmt(r.accuracy_mcp, ".3f"), _fmt(r.rotation_error, ".3f"),
                      _fmt(r.translation_error, ".2f"), f"{r.seconds:.1f}")
        if len(history) == 1 and r.epoch < epochs and not quiet:
            console.print(f"≈ {r.seconds * (epochs - r.epoch) / 60:.1f} min for the remaining "
                          f"{epochs - r.epoch} epoch(s) at {r.seconds:.0f} s per epoch")

    with stage_progress(console, quiet=quiet) as progress:
        trainer_cls = {"deepcluster": DeepClusterTrainer, "pica": PicaTrainer}.get(model, Trainer)
        try:
            trainer = trainer_cls(ps, config, out, progress=progress)
        except ValueError as exc:  # e.g. a box too small for the network
            raise JimnetInputError(f"cannot build the {model} model for a {ps.box_size}³ box: "
                                   f"{exc}") from None
        start = 0
        if resume:
            start = trainer.load()
            console.print(f"resuming {out} from epoch {start} of {epochs}")
        trainer.progress = _with_estimate(progress, console, epochs, start, quiet)
        trainer.fit(resume=resume, on_epoch=report)
    console.print(table)
    for warning in training_warnings(history):
        console.print(f"warning: {warning}", style="bold yellow")
    console.print(f"model: {out / 'model.pt'}  metrics: {out / 'metrics.jsonl'}")
    finish()  # every rank waits for the others before the process group goes
