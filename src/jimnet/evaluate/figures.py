"""Figures for prediction runs and their report (matplotlib, Agg backend; nothing is shown).

Each ``*_figure`` function returns a matplotlib figure; :func:`save_figure` writes it as a PNG
file and :func:`figure_png` returns the PNG bytes (for embedding in ``report.html``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from jimnet.average import FSCResult
from jimnet.io.metrics import read_metrics

#: metrics.jsonl keys that are bookkeeping, not curves.
_NOT_CURVES = ("epoch", "seconds", "losses", "cluster_sizes")
_ACCURACY = ("accuracy_gmm", "accuracy_mcp")
_POSE = ("rotation_error", "translation_error")


def save_figure(fig: Figure, path: Path, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG at ``path`` (through a temporary name) and close it."""
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _image_axis(ax, image: NDArray, title: str) -> None:
    ax.imshow(image, cmap="gray", origin="lower")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def _central_planes(volume: NDArray) -> list[tuple[NDArray, str]]:
    """Central xy (z = N//2), xz and yz planes of a zyx volume."""
    v = np.asarray(volume)
    c = np.array(v.shape) // 2
    return [(v[c[0]], "xy"), (v[:, c[1]], "xz"), (v[:, :, c[2]], "yz")]


def central_slices_figure(volumes: Sequence[NDArray], titles: Sequence[str]) -> Figure:
    """Central z, y and x slices (rows: volumes; columns: xy, xz, yz planes) of each volume."""
    n = len(volumes)
    fig, axes = plt.subplots(n, 3, figsize=(6, 2 * n), squeeze=False)
    for row, (vol, title) in enumerate(zip(volumes, titles, strict=True)):
        for col, (img, plane) in enumerate(_central_planes(vol)):
            _image_axis(axes[row, col], img, f"{title} {plane}" if col == 0 else plane)
    return fig


def plot_central_slices(volumes: Sequence[NDArray], titles: Sequence[str], path: Path) -> Path:
    """:func:`central_slices_figure` saved as a PNG."""
    return save_figure(central_slices_figure(volumes, titles), path)


def density_sign(volume: NDArray) -> int:
    """+1 when the density is bright, −1 when it is dark (negative third moment).

    A particle occupies a minority of the box, so its voxels form the long tail of the value
    distribution: a negative skew means protein is darker than the solvent (raw cryo-ET
    contrast, as the simulator writes it).
    """
    v = np.asarray(volume, dtype=np.float64).ravel()
    return -1 if np.mean((v - v.mean()) ** 3) < 0 else 1


def class_views_figure(volume: NDArray, title: str = "") -> Figure:
    """Central xy, xz and yz slices and the maximum-intensity projection along z.

    The projection is of the density shown bright: the map is negated first when its protein is
    dark (:func:`density_sign`), which the panel title then says.
    """
    fig, axes = plt.subplots(1, 4, figsize=(8, 2.3))
    for ax, (img, plane) in zip(axes, _central_planes(volume), strict=False):
        _image_axis(ax, img, f"central {plane} slice")
    sign = density_sign(volume)
    _image_axis(axes[3], (sign * np.asarray(volume)).max(axis=0),
                "max projection along z" + (" of −map" if sign < 0 else ""))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def gallery_figure(images: Sequence[NDArray], titles: Sequence[str], suptitle: str = ""
                   ) -> Figure:
    """A row of 2-D images (e.g. projections of aligned particles), each with its title."""
    n = max(len(images), 1)
    fig, axes = plt.subplots(1, n, figsize=(1.25 * n, 1.6), squeeze=False)
    for ax, img, title in zip(axes[0], images, titles, strict=False):
        _image_axis(ax, img, title)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


def fsc_figure(results: Sequence[FSCResult]) -> Figure:
    """One FSC curve against spatial frequency (1/Å), with each result's threshold line and the
    frequency where the curve crosses it.

    Parameters
    ----------
    results : sequence of FSCResult
        The same curve evaluated at different thresholds (e.g. 0.143 and 0.5).
    """
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    curve = results[0]
    ax.plot(curve.frequency / curve.voxel_size, curve.fsc, color="k", lw=1.5)
    for r, colour in zip(results, ("tab:red", "tab:blue", "tab:green"), strict=False):
        text = "not crossed" if r.reached_nyquist else f"{r.resolution:.1f} Å"
        ax.axhline(r.threshold, color=colour, lw=0.8, ls="--", label=f"{r.threshold:g}: {text}")
        if not r.reached_nyquist and math.isfinite(r.resolution):
            ax.axvline(1.0 / r.resolution, color=colour, lw=0.8, ls=":")
    ax.set_xlabel("spatial frequency (1/Å)")
    ax.set_ylabel("FSC")
    ax.set_ylim(-0.1, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, title="half-map FSC", title_fontsize=7)
    fig.tight_layout()
    return fig


def embedding_figure(embedding: NDArray, colourings: Mapping[str, NDArray]) -> Figure:
    """First two embedding dimensions, one panel per colouring (e.g. cluster, true class)."""
    n = max(len(colourings), 1)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 4), squeeze=False)
    for ax, (name, labels) in zip(axes[0], colourings.items(), strict=False):
        lo = int(np.min(labels))  # label lo + k gets the k-th colour of tab10
        sc = ax.scatter(embedding[:, 0], embedding[:, 1], c=labels, s=6, cmap="tab10",
                        vmin=lo - 0.5, vmax=lo + 9.5)
        ax.legend(*sc.legend_elements(), title=name, fontsize=7, loc="best")
        ax.set_xlabel("dim 1")
        ax.set_ylabel("dim 2")
        ax.set_title(f"coloured by {name}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_embedding(embedding: NDArray, labels: NDArray, path: Path) -> Path:
    """First two embedding dimensions coloured by cluster (``labels``: 1-based class numbers,
    as ``rlnClassNumber``), saved as a PNG."""
    return save_figure(embedding_figure(embedding, {"cluster": labels}), path)


def _scalar_series(rows: Sequence[dict]) -> dict[str, list[float]]:
    """Every numeric per-epoch value of ``rows`` (one level of nested dicts flattened as
    ``outer.inner``), ``nan`` where an epoch lacks it."""
    keys: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key in _NOT_CURVES:
                continue
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for sub, v in items:
                name = key if sub is None else f"{key}.{sub}"
                if isinstance(v, int | float) and not isinstance(v, bool) and name not in keys:
                    keys.append(name)

    def get(row: dict, name: str) -> float:
        outer, _, inner = name.partition(".")
        v = row.get(outer)
        v = v.get(inner) if inner and isinstance(v, dict) else v
        return float(v) if isinstance(v, int | float) else np.nan

    return {k: [get(r, k) for r in rows] for k in keys}


def training_figure(rows: Sequence[dict], title: str = "") -> Figure | None:
    """Per-epoch curves of a ``metrics.jsonl``: losses; clustering accuracy; pose errors; any
    other logged number (label change, saturation fractions, …). Panels without data are
    left out; None when there is no epoch."""
    if not rows:
        return None
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(rows)]
    losses = {k: [r.get("losses", {}).get(k, np.nan) for r in rows]
              for k in dict.fromkeys(k for r in rows for k in r.get("losses", {}))}
    scalars = {k: v for k, v in _scalar_series(rows).items() if not np.all(np.isnan(v))}
    panels = [("loss", losses, None),
              ("clustering accuracy", {k: scalars.pop(k) for k in _ACCURACY if k in scalars},
               (0, 1)),
              ("pair pose error", {k: scalars.pop(k) for k in _POSE if k in scalars}, None),
              ("other", scalars, None)]
    panels = [p for p in panels if p[1]]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 2.9), squeeze=False)
    for ax, (ylabel, series, ylim) in zip(axes[0], panels, strict=True):
        for name, values in series.items():
            ax.plot(epochs, values, marker="o", ms=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_training_curves(metrics_jsonl: Path, path: Path) -> Path | None:
    """:func:`training_figure` of a run's ``metrics.jsonl`` saved as a PNG (None if empty)."""
    fig = training_figure(read_metrics(metrics_jsonl))
    return None if fig is None else save_figure(fig, path)
