"""``jimnet train2d``: unsupervised Jim-Net 2D training on a PF-PASCAL-format pair list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jimnet.cli.common import (
    handle_input_errors,
    require_at_least,
    require_positive,
    stage_progress,
    stdout_console,
)
from jimnet.errors import JimnetInputError

__all__ = ["train2d"]


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


@handle_input_errors
def train2d(
    pairs: Annotated[Path, typer.Argument(help="Pair CSV (source_image,target_image,class[,flip]"
                                          "), e.g. PF-PASCAL's pf-pascal-flip/train_pairs.csv. "
                                          "Its distinct images (flipped where flip=1) are the "
                                          "training set; the given pairing and classes are not "
                                          "used for training.", show_default=False)],
    images: Annotated[Path, typer.Option("--images", help="Directory the CSV's image paths are "
                                         "relative to.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory: checkpoint.pt, model.pt, "
                                      "metrics.jsonl, config.json.")],
    classes: Annotated[int, typer.Option("--classes", "-k", help="Number of clusters K (20 for "
                                         "PF-PASCAL).")] = 20,
    backbone: Annotated[str, typer.Option(help="small (CNN from scratch, CPU) or resnet101 "
                                          "(torchvision, cropped after layer3).")] = "small",
    backbone_weights: Annotated[Path | None, typer.Option(
        help="ImageNet ResNet-101 state_dict (.pth) for --backbone resnet101.",
        show_default=False)] = None,
    width: Annotated[float, typer.Option(help="Channel multiplier of the small trunk and the "
                                         "regressors (1.0 = Rocco et al.'s regressors).")] = 0.5,
    epochs: Annotated[int, typer.Option(help="Jim-Net epochs (after the pre-training).")] = 10,
    pretrain_epochs: Annotated[int, typer.Option(
        help="Epochs of self-supervised synthetic affine+TPS warps first (Rocco et al. 2017; 0 "
        "to skip).")] = 5,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 8,
    lr: Annotated[float, typer.Option(help="Adam lr of trunk and regressors, Jim-Net phase "
                                      "(the paper: 1e-7 on a pre-trained ResNet).")] = 1e-5,
    pretrain_lr: Annotated[float, typer.Option(help="Adam lr of the pre-training.")] = 1e-3,
    cluster_lr: Annotated[float, typer.Option(help="Adam lr of the cluster head.")] = 1e-4,
    alpha: Annotated[float, typer.Option(help="Weight of the cluster cross-entropy.")] = 0.01,
    lambda_a: Annotated[float, typer.Option(help="Weight of L_A (eq. 2) on the affine; 0 as "
                                            "the authors' code.")] = 0.0,
    tsne: Annotated[bool, typer.Option("--tsne/--no-tsne", help="t-SNE (3-D) before the GMM."
                                       )] = True,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a non-empty run directory.")
                     ] = False,
    seed: Annotated[int, typer.Option(help="Seed of every random step.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Train Jim-Net 2D on image pairs without labels (keypoints and classes, if present, are
    not used; classes are only logged against: clustering accuracy and V-measure).

    Inputs are resized to 240 × 240 and ImageNet-normalised. Pipeline: synthetic-warp
    pre-training, then per epoch t-SNE(3) → GMM → Hungarian → within-cluster pairs → soft-inlier
    (affine and affine∘TPS) + 0.01·CE.
    """
    import numpy as np

    from jimnet.io.pfpascal import image_set, load_images, read_pairs
    from jimnet.train.trainer2d import CHECKPOINT_NAME, Epoch2DResult, Train2DConfig, Trainer2D

    require_at_least(("--classes", classes, 1), ("--epochs", epochs, 0),
                     ("--pretrain-epochs", pretrain_epochs, 0), ("--batch-size", batch_size, 2))
    require_positive(("--width", width), ("--lr", lr), ("--pretrain-lr", pretrain_lr),
                     ("--cluster-lr", cluster_lr))
    if epochs + pretrain_epochs < 1:
        raise JimnetInputError("--epochs + --pretrain-epochs must be ≥ 1")
    if backbone not in ("small", "resnet101"):
        raise JimnetInputError(f"--backbone must be small or resnet101, got {backbone!r}")
    if backbone_weights is not None and not backbone_weights.is_file():
        raise JimnetInputError(f"--backbone-weights file not found: {backbone_weights}")
    if not images.is_dir():
        raise JimnetInputError(f"--images: no such directory: {images}")
    if resume and not (out / CHECKPOINT_NAME).is_file():
        raise JimnetInputError(f"--resume: no checkpoint at {out / CHECKPOINT_NAME}")
    if not resume and out.exists() and any(out.iterdir()) and not force:
        raise JimnetInputError(f"run directory is not empty: {out} (use --force or --resume)")
    rows = read_pairs(pairs, image_dir=images)
    entries = image_set(rows)
    if classes > len(entries):
        raise JimnetInputError(f"--classes {classes} exceeds the {len(entries)} images of {pairs}")
    model = {"backbone": backbone, "width": width,
             "backbone_weights": "" if backbone_weights is None else str(backbone_weights)}
    config = Train2DConfig(model=model, n_clusters=classes, epochs=epochs,
                           pretrain_epochs=pretrain_epochs, batch_size=batch_size, lr=lr,
                           pretrain_lr=pretrain_lr, cluster_lr=cluster_lr, alpha=alpha,
                           lambda_a=lambda_a, use_tsne=tsne, seed=seed, device=device)
    console = stdout_console()

    def report(r: Epoch2DResult) -> None:
        losses = ", ".join(f"{k} {v:.4f}" for k, v in r.losses.items())
        console.print(f"epoch {r.epoch} ({r.phase}): {losses}; clusters {r.cluster_sizes or '–'}"
                      f", acc GMM {_fmt(r.accuracy_gmm)}, V {_fmt(r.v_measure_gmm)}, "
                      f"{r.seconds:.1f} s")

    with stage_progress(console, quiet=quiet) as progress:
        size = 240
        tensor = load_images(entries, images, size, progress)
        truth = np.array([c for *_, c in entries]) - 1
        try:
            trainer = Trainer2D(tensor, config, out, true_classes=truth, progress=progress)
        except ImportError as exc:
            raise JimnetInputError(str(exc)) from None
        except (RuntimeError, OSError) as exc:
            if backbone_weights is None:
                raise
            raise JimnetInputError(f"{backbone_weights}: not a ResNet-101 state_dict "
                                   f"({str(exc).splitlines()[0]})") from None
        trainer.fit(resume=resume, on_epoch=report)
    console.print(f"model: {out / 'model.pt'}  metrics: {out / 'metrics.jsonl'}")
