"""What ``report.html`` shows, read from a run's output folder.

Every section is optional: it appears when the folder holds what it needs, so the same reader
serves ``jimnet predict`` (class maps, half maps, STAR, ``embedding.csv``, ``metrics.jsonl``,
``run.json``), other commands that write class maps and ``run.json``, and ``jimnet benchmark``
(``results.json``, summary tables, plots, ``runs/*/*/metrics.jsonl``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from jimnet.average import HALF_MAP_THRESHOLD, KNOWN_MAP_THRESHOLD, FSCResult, compute_fsc
from jimnet.errors import JimnetInputError
from jimnet.evaluate.figures import (
    class_views_figure,
    density_sign,
    embedding_figure,
    figure_png,
    fsc_figure,
    gallery_figure,
    training_figure,
)
from jimnet.geometry import invert_pose
from jimnet.io import ParticleSet, particle_class_numbers, read_particle_star, read_volume
from jimnet.io.embedding import EMBEDDING_NAME, read_embedding
from jimnet.io.metrics import METRICS_NAME, read_metrics
from jimnet.report.run_info import read_run_info
from jimnet.transform import rigid_transform

__all__ = [
    "ClassCard",
    "Panel",
    "ReportContent",
    "Table",
    "aligned_members",
    "png_uri",
    "read_report_content",
]

#: Aligned members shown per class.
GALLERY_SIZE = 8
_CLASS_MAP = re.compile(r"class_(\d+)\.mrc")
_EMBEDDING_AXES = {"tsne": "t-SNE", "pca": "PCA of the features"}


def png_uri(data: bytes | Figure) -> str:
    """A ``data:`` URI of a PNG (bytes, or a figure rendered and closed)."""
    png = figure_png(data) if isinstance(data, Figure) else data
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass
class Table:
    """A titled table of strings."""

    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class ClassCard:
    """One class: its maps' views, member count, FSC and aligned members."""

    number: int
    members: int | None
    resolution: dict[str, str]  # threshold text → "12.3 Å"
    views: str
    fsc: str | None = None
    gallery: str | None = None


@dataclass
class Panel:
    """A titled figure (``uri``: its PNG as a data URI) with an optional caption."""

    title: str
    uri: str
    caption: str = ""


@dataclass
class ReportContent:
    """Everything the template renders."""

    title: str
    summary: list[tuple[str, str]] = field(default_factory=list)
    classes: list[ClassCard] = field(default_factory=list)
    class_table: Table | None = None
    embedding: Panel | None = None
    training: list[Panel] = field(default_factory=list)
    benchmark_figures: list[Panel] = field(default_factory=list)
    benchmark_tables: list[Table] = field(default_factory=list)
    benchmark_details: list[Table] = field(default_factory=list)
    run_tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.classes or self.embedding or self.training or self.benchmark_figures
                    or self.benchmark_tables)


# ---------------------------------------------------------------------------------- classes


def _resolution_text(result: FSCResult) -> str:
    suffix = " (Nyquist: not crossed)" if result.reached_nyquist else ""
    return f"{result.resolution:.1f} Å{suffix}"


def _class_numbers(directory: Path, content: ReportContent
                   ) -> tuple[ParticleSet | None, np.ndarray | None]:
    """The output STAR as a particle set (for the gallery) and its class of every particle."""
    star = directory / "particles.star"
    if not star.is_file():
        return None, None
    try:
        # Headers only: the gallery reads a few members, and re-reading every volume of a
        # large set would double predict's I/O.
        particles = ParticleSet.from_star(star, validate_values=False)
        return particles, particles.class_numbers()
    except JimnetInputError as exc:  # e.g. the subtomograms were moved: counts only
        content.notes.append(f"aligned members not shown: {exc}")
        return None, particle_class_numbers(read_particle_star(star).particles, star)


def aligned_members(particles: ParticleSet, indices: np.ndarray, rotations: np.ndarray,
                    shifts: np.ndarray) -> torch.Tensor:
    """Particles ``indices`` moved onto their class average by the inverse of their poses.

    Parameters
    ----------
    particles : ParticleSet
    indices : numpy.ndarray of int, shape (B,)
    rotations, shifts : numpy.ndarray, shapes (n, 3, 3), (n, 3)
        Every particle's pose (reference → particle, zyx, voxels), as read from the STAR.

    Returns
    -------
    torch.Tensor, shape (B, D, H, W)
    """
    rot, shift = invert_pose(rotations[indices], shifts[indices])
    return rigid_transform(particles.get_batch(indices.tolist()),
                           torch.as_tensor(rot, dtype=torch.float32),
                           torch.as_tensor(shift, dtype=torch.float32))


def _gallery(particles: ParticleSet, members: np.ndarray, rotations: np.ndarray,
             shifts: np.ndarray, sign: int) -> str:
    """Projections along z (the beam) of up to :data:`GALLERY_SIZE` evenly spaced members."""
    pick = np.unique(np.linspace(0, len(members) - 1, min(GALLERY_SIZE, len(members)))
                     .round().astype(int))
    idx = members[pick]
    aligned = aligned_members(particles, idx, rotations, shifts)
    images = [sign * a.mean(dim=0).numpy() for a in aligned]
    return png_uri(gallery_figure(images, [f"particle {i + 1}" for i in idx]))


def read_classes(directory: Path, content: ReportContent) -> None:
    """Class cards from ``class_NNN.mrc`` (+ ``_half1/_half2``) and the STAR's classes."""
    maps = sorted((int(m.group(1)), p) for p in directory.glob("class_*.mrc")
                  if (m := _CLASS_MAP.fullmatch(p.name)))
    if not maps:
        return
    particles, classes = _class_numbers(directory, content)
    poses = particles.poses() if particles is not None else None
    if classes is not None:
        content.summary += [("particles", str(len(classes))), ("classes", str(len(maps)))]
    rows = []
    for number, path in maps:
        average, voxel = read_volume(path)
        members = None if classes is None else np.flatnonzero(classes == number)
        halves = [directory / f"class_{number:03d}_half{h}.mrc" for h in (1, 2)]
        card = ClassCard(number=number, members=None if members is None else len(members),
                         resolution={}, views=png_uri(class_views_figure(average)))
        if all(h.is_file() for h in halves):
            h1, h2 = (torch.as_tensor(read_volume(h)[0]) for h in halves)
            curves = [compute_fsc(h1, h2, voxel, t)
                      for t in (HALF_MAP_THRESHOLD, KNOWN_MAP_THRESHOLD)]
            card.resolution = {f"FSC {c.threshold:g}": _resolution_text(c) for c in curves}
            card.fsc = png_uri(fsc_figure(curves))
        if particles is not None and members is not None and len(members):
            card.gallery = _gallery(particles, members, *poses, density_sign(average))
        content.classes.append(card)
        rows.append([str(number), "–" if card.members is None else str(card.members),
                     card.resolution.get(f"FSC {HALF_MAP_THRESHOLD:g}", "–"),
                     card.resolution.get(f"FSC {KNOWN_MAP_THRESHOLD:g}", "–")])
    content.class_table = Table("Classes", ["class", "members", "resolution (FSC 0.143)",
                                            "resolution (FSC 0.5)"], rows)


# ------------------------------------------------------------------------ embedding, training


def read_embedding_section(directory: Path, content: ReportContent) -> None:
    table = read_embedding(directory / EMBEDDING_NAME)
    if table is None or table.coordinates.shape[1] < 2:
        return
    colourings = {"cluster": table.cluster}
    if table.input_class is not None:
        colourings["input class (truth)"] = table.input_class
    axes = _EMBEDDING_AXES.get(table.kind, table.kind)
    caption = (f"First two {axes} dimensions of every particle. Left: the GMM cluster. "
               + ("Right: the input STAR's rlnClassNumber (the truth for simulated data)."
                  if table.input_class is not None else "The input STAR had no classes."))
    content.embedding = Panel(f"Embedding ({axes})",
                                png_uri(embedding_figure(table.coordinates, colourings)), caption)


def read_training(directory: Path, content: ReportContent) -> None:
    """Curves of ``metrics.jsonl`` here and of every ``runs/…/metrics.jsonl`` (benchmark)."""
    for path in [directory / METRICS_NAME, *sorted(directory.glob(f"runs/*/*/{METRICS_NAME}"))]:
        fig = training_figure(read_metrics(path))
        if fig is not None:
            title = ("Training" if path.parent == directory
                     else f"Training: {path.parent.relative_to(directory / 'runs')}")
            content.training.append(Panel(title, png_uri(fig)))


# ---------------------------------------------------------------------------------- run info


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "–" if value is None else str(value)


def _key_value_table(title: str, mapping: dict[str, Any]) -> Table:
    return Table(title, ["", ""], [[str(k), _text(v)] for k, v in mapping.items()])


def read_run(info: Mapping[str, Any] | None, content: ReportContent) -> None:
    """A run's record (``run.json``): summary line items and the configuration tables."""
    if info is None:
        return
    content.title = f"{info.get('command', 'jimnet')} report"
    wall = info.get("wall_time_s")
    wall_text = "–" if wall is None else f"{wall:.0f} s ({wall / 60:.1f} min)"
    content.summary += [("command", str(info.get("command"))),
                        ("started (UTC)", str(info.get("started_utc"))),
                        ("wall time", wall_text),
                        ("device", f"{info.get('device')}, {info.get('processes', 1)} process(es)")]
    scores = info.get("scores") or {}
    content.summary += [(k.replace("_", " "), _text(v)) for k, v in scores.items()]
    for key, title in (("settings", "Settings"), ("training", "Training configuration"),
                       ("versions", "Versions")):
        if info.get(key):
            content.run_tables.append(_key_value_table(title, info[key]))


# --------------------------------------------------------------------------------- benchmark


def _markdown_tables(text: str) -> list[Table]:
    """The pipe tables of a markdown file, titled by the heading above each."""
    tables, title, rows = [], "", []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
            continue
        if rows:
            tables.append(Table(title, rows[0], rows[1:]))
            rows = []
        if line.startswith("#"):
            title = line.lstrip("#").strip()
    return tables


def read_benchmark(directory: Path, content: ReportContent) -> None:
    """``results.json``'s header, the vs-SNR plots and the summary and per-structure tables."""
    results = directory / "results.json"
    if not results.is_file():
        return
    from jimnet.benchmark.report import header_items  # the header every benchmark file carries

    meta = json.loads(results.read_text(encoding="utf-8")).get("meta", {})
    content.title = "jimnet benchmark report"
    content.summary += header_items(meta)
    for name in ("alignment_vs_snr.png", "clustering_vs_snr.png"):
        if (directory / name).is_file():
            uri = png_uri((directory / name).read_bytes())
            content.benchmark_figures.append(Panel(name, uri))
    for path in sorted(directory.glob("*_summary.md")):
        content.benchmark_tables += _markdown_tables(path.read_text(encoding="utf-8"))
    for path in sorted(directory.glob("*_S*_*.md"), key=lambda p: int(p.stem.split("_S")[1]
                                                                     .split("_")[0])):
        content.benchmark_details += _markdown_tables(path.read_text(encoding="utf-8"))


def read_report_content(directory: Path, run_info: Mapping[str, Any] | None = None
                        ) -> ReportContent:
    """Everything ``report.html`` of ``directory`` shows; ``run_info`` replaces the folder's
    ``run.json``."""
    content = ReportContent(title="jimnet report")
    read_run(run_info if run_info is not None else read_run_info(directory), content)
    read_benchmark(directory, content)
    read_classes(directory, content)
    read_embedding_section(directory, content)
    read_training(directory, content)
    return content

