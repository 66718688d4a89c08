"""PNG figures for prediction runs (matplotlib, Agg backend; nothing is shown on screen)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from jimnet.io.metrics import read_metrics


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_central_slices(volumes: Sequence[NDArray], titles: Sequence[str], path: Path) -> Path:
    """Central z, y and x slices (rows: volumes; columns: xy, xz, yz planes) of each volume."""
    n = len(volumes)
    fig, axes = plt.subplots(n, 3, figsize=(6, 2 * n), squeeze=False)
    for row, (vol, title) in enumerate(zip(volumes, titles, strict=True)):
        v = np.asarray(vol)
        c = np.array(v.shape) // 2
        for col, (img, plane) in enumerate(((v[c[0]], "xy"), (v[:, c[1]], "xz"),
                                            (v[:, :, c[2]], "yz"))):
            ax = axes[row, col]
            ax.imshow(img, cmap="gray", origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{title} {plane}" if col == 0 else plane, fontsize=8)
    return _save(fig, path)


def plot_embedding(embedding: NDArray, labels: NDArray, path: Path) -> Path:
    """First two embedding dimensions coloured by cluster."""
    fig, ax = plt.subplots(figsize=(4.5, 4))
    sc = ax.scatter(embedding[:, 0], embedding[:, 1], c=labels, s=6, cmap="tab10")
    ax.legend(*sc.legend_elements(), title="cluster", fontsize=7, loc="best")
    ax.set_xlabel("dim 1")
    ax.set_ylabel("dim 2")
    return _save(fig, path)


def plot_training_curves(metrics_jsonl: Path, path: Path) -> Path | None:
    """Loss and (when logged) clustering accuracy per epoch from a run's ``metrics.jsonl``."""
    rows = read_metrics(metrics_jsonl)
    if not rows:
        return None
    epochs = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key in rows[0]["losses"]:
        ax.plot(epochs, [r["losses"].get(key, np.nan) for r in rows], label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if rows[0].get("accuracy_gmm") is not None:
        ax2 = ax.twinx()
        ax2.plot(epochs, [r["accuracy_gmm"] for r in rows], "k--", label="accuracy (GMM)")
        ax2.set_ylabel("clustering accuracy")
        ax2.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return _save(fig, path)
