"""``jimnet eval2d``: PCK@α of a Jim-Net 2D model (or the identity warp) on keypoint pairs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from jimnet.cli.common import handle_input_errors, stage_progress, stdout_console
from jimnet.errors import JimnetInputError

__all__ = ["eval2d"]


@handle_input_errors
def eval2d(
    pairs: Annotated[Path, typer.Argument(help="Pair CSV with keypoints (source_image,"
                                          "target_image,class,XA,YA,XB,YB; 1-based pixels, "
                                          "';'-separated), e.g. test_pairs_pf_pascal.csv.",
                                          show_default=False)],
    images: Annotated[Path, typer.Option("--images", help="Directory the CSV's image paths are "
                                         "relative to.")],
    model: Annotated[str, typer.Option("--model", help="A train2d model.pt, or 'identity' for "
                                       "the identity-warp baseline.")],
    out: Annotated[Path | None, typer.Option("--out", help="Per-pair results CSV (default: "
                                             "pck_PAIRS.csv, PAIRS the CSV's name, beside the "
                                             "model, or in the current directory for "
                                             "identity).",
                                             show_default=False)] = None,
    alpha: Annotated[float, typer.Option(help="PCK threshold as a fraction of L = 224 (SCNet "
                                         "procedure).")] = 0.1,
    classes: Annotated[int | None, typer.Option("--classes", help="Reject rows whose class is "
                                                "outside 1…K (default: the model's K; none for "
                                                "identity).", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option(help="Pairs per forward pass.")] = 8,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Score the composed affine∘TPS warp (and affine only, and identity) by PCK@α; the last
    line printed is ``PCK@α value`` (percent, mean over pairs, the final warp)."""
    import numpy as np

    from jimnet.device import resolve_device
    from jimnet.evaluate.align2d import evaluate_pairs
    from jimnet.io.atomic import atomic_write, check_can_write
    from jimnet.io.pfpascal import read_pairs
    from jimnet.models import load_model
    from jimnet.models.jimnet2d import JimNet2D

    if not 0 < alpha <= 1:
        raise JimnetInputError(f"--alpha must be in (0, 1], got {alpha}")
    net: JimNet2D | None = None
    if model != "identity":
        if not Path(model).is_file():
            raise JimnetInputError(f"--model: no such file: {model}")
        try:
            net = load_model(model)
        except (ValueError, RuntimeError, OSError) as exc:
            raise JimnetInputError(f"{model}: not a jimnet model ({exc})") from None
        if not isinstance(net, JimNet2D):
            raise JimnetInputError(f"{model}: a {type(net).__name__}, not a JimNet2D model")
        classes = classes or net.config.n_clusters
    rows = read_pairs(pairs, n_classes=classes, require_keypoints=True, image_dir=images)
    base = Path(model).parent if net is not None else Path.cwd()
    out = out or base / f"pck_{pairs.stem}.csv"
    check_can_write(out, force)
    console = stdout_console()
    with stage_progress(console, quiet=quiet) as progress:
        results = evaluate_pairs(net, rows, images, alpha=alpha, batch_size=batch_size,
                                 device=resolve_device(device), progress=progress)
    with atomic_write(out, force=force) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    final = "pck_identity" if net is None else "pck_affine_tps"
    for key in [k for k in results[0] if k.startswith("pck_")]:
        console.print(f"{key[4:]}: {100 * np.mean([r[key] for r in results]):.2f}")
    console.print(f"per-pair results: {out}")
    print(f"PCK@{alpha:g} {100 * np.mean([r[final] for r in results]):.2f}")
