"""``jimnet info``: summarise a particle STAR file and its subtomograms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from jimnet.cli.common import handle_input_errors, stdout_console
from jimnet.io.names import IMAGE_PATH_RULE

__all__ = ["info"]


def _range(values: np.ndarray) -> str:
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"{lo:g}" if lo == hi else f"{lo:g} … {hi:g}"


@handle_input_errors
def info(
    particles: Annotated[
        Path,
        typer.Argument(
            help="Particle STAR file (RELION 3.1–5, or a single-block STAR). "
            + IMAGE_PATH_RULE,
            show_default=False,
        ),
    ],
    pixel_size: Annotated[
        float | None,
        typer.Option(
            "--pixel-size",
            help="Voxel size in Å; overrides rlnImagePixelSize and the MRC headers.",
            show_default=False,
        ),
    ] = None,
    check_values: Annotated[
        bool,
        typer.Option(
            "--check-values/--no-check-values",
            help="Read every volume (one at a time) and reject NaN/Inf voxels.",
        ),
    ] = True,
) -> None:
    """Summarise PARTICLES: counts, box and voxel size (Å, nm), tilt ranges (degrees), classes.

    All MRC headers are checked (existence, truncation, one cubic box size, one voxel size
    matching the STAR optics table).
    """
    from jimnet.io import ParticleSet
    from jimnet.io.star import TILT_COLUMNS

    ps = ParticleSet.from_star(particles, pixel_size=pixel_size, validate_values=check_values)
    table = ps.table
    n = len(ps)
    tilts = ps.tilt_ranges()
    classes = ps.class_numbers()

    summary = Table(title=f"jimnet info: {ps.star_path}", show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value")
    summary.add_row("particles", str(n))
    if "rlnTomoName" in table.columns:
        summary.add_row("tomograms", str(table["rlnTomoName"].nunique()))
    files = {loc.path for loc in ps.image_locations}
    summary.add_row("volume files", str(len(files)))
    summary.add_row("relative images in", str(ps.image_base_dir))
    summary.add_row("box size", f"{ps.box_size}³ voxels")
    summary.add_row("voxel size", f"{ps.pixel_size:.4g} Å ({ps.pixel_size / 10:.4g} nm)")
    extent = ps.box_size * ps.pixel_size
    summary.add_row("box extent", f"{extent:.4g} Å ({extent / 10:.4g} nm)")
    has_tilt = all(c in table.columns for c in TILT_COLUMNS)
    note = "" if has_tilt else " (default: no jimnetTiltMin/Max columns)"
    summary.add_row("tilt min", f"{_range(tilts[:, 0])} deg{note}")
    summary.add_row("tilt max", f"{_range(tilts[:, 1])} deg{note}")
    has_angles = any(c in table.columns for c in ("rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"))
    summary.add_row("poses", "rlnAngle* present" if has_angles else "none (identity)")
    n_classes = "none (no rlnClassNumber)" if classes is None else str(len(np.unique(classes)))
    summary.add_row("classes", n_classes)
    console = stdout_console()
    console.print(summary)

    if classes is not None:
        per_class = Table(title="rlnClassNumber (1-based)")
        per_class.add_column("class", justify="right")
        per_class.add_column("particles", justify="right")
        per_class.add_column("fraction", justify="right")
        values, counts = np.unique(classes, return_counts=True)
        for value, count in zip(values, counts, strict=True):
            per_class.add_row(str(int(value)), str(int(count)), f"{count / n:.1%}")
        console.print(per_class)
