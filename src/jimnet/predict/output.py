"""A prediction's output folder: STAR, class averages, half maps, FSC curves, figures, the
embedding table, the training log and ``report.html``."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

from jimnet.average import compute_fsc, plot_fsc
from jimnet.evaluate.figures import plot_central_slices, plot_embedding, plot_training_curves
from jimnet.io import ParticleSet, atomic_output_dir, write_particle_star, write_volume
from jimnet.io.embedding import EMBEDDING_NAME, EmbeddingTable, write_embedding
from jimnet.io.metrics import METRICS_NAME
from jimnet.io.names import class_map_name, fsc_csv_name
from jimnet.predict.pipeline import Prediction
from jimnet.report import write_report


def embedding_table(result: Prediction, particles: ParticleSet) -> EmbeddingTable:
    """What ``embedding.csv`` holds: the t-SNE coordinates (or, when the GMM ran on the raw
    features, their first 3 principal components), the clusters and the input's classes."""
    emb = np.asarray(result.embedding, dtype=np.float64)
    kind = "tsne"
    if emb.shape[1] > 3:  # raw features (--no-tsne): a view, not what the GMM saw
        kind = "pca"
        emb = PCA(n_components=3, svd_solver="full").fit_transform(emb)
    truth = particles.class_numbers()
    return EmbeddingTable(kind, emb, result.labels + 1, result.mcp_labels + 1, truth)


def write_prediction(result: Prediction, particles: ParticleSet, out: Path, *,
                     force: bool = False, metrics: Path | None = None,
                     run_info: Mapping[str, Any] | None = None) -> dict[int, float]:
    """Write the output folder ``out`` atomically; returns the resolution (Å, FSC 0.143) per
    class that has half maps.

    ``out`` receives ``particles.star``, ``class_NNN.mrc`` with ``_half1/_half2`` and
    ``fsc_NNN.csv``, ``class_averages.png``, ``fsc.png``, ``embedding.png``,
    ``embedding.csv``, a copy of the training run's ``metrics.jsonl`` (when given, with
    ``training.png``), ``run.json`` (when ``run_info`` is given) and ``report.html``.
    """
    voxel = particles.pixel_size
    resolutions: dict[int, float] = {}
    with atomic_output_dir(out, force=force) as tmp:
        star = particles.updated_star(out / "particles.star", rotations=result.rotations,
                                      shifts=result.shifts, class_numbers=result.labels + 1)
        star.particles["jimnetClassMCP"] = result.mcp_labels + 1
        write_particle_star(tmp / "particles.star", star)
        curves = {}
        for cls in result.classes:
            write_volume(tmp / class_map_name(cls.number), cls.average.numpy(), voxel)
            if cls.half_maps is None:  # one member: no FSC
                continue
            for h, half in enumerate(cls.half_maps, start=1):
                write_volume(tmp / class_map_name(cls.number, h), half.numpy(), voxel)
            fsc = compute_fsc(*cls.half_maps, voxel)
            curves[f"class {cls.number}"] = fsc
            resolutions[cls.number] = fsc.resolution
            (tmp / fsc_csv_name(cls.number)).write_text(fsc.to_csv())
        if result.classes:
            plot_central_slices([c.average.numpy() for c in result.classes],
                                [f"class {c.number}" for c in result.classes],
                                tmp / "class_averages.png")
            plot_fsc(curves, tmp / "fsc.png", title="half-map FSC")
        # 1-based, as rlnClassNumber and every table
        plot_embedding(result.embedding, result.labels + 1, tmp / "embedding.png")
        write_embedding(tmp / EMBEDDING_NAME, embedding_table(result, particles))
        if result.bic:
            (tmp / "classes_bic.csv").write_text(
                "classes,bic\n" + "".join(f"{k},{v:.6g}\n" for k, v in result.bic.items()))
        if metrics is not None and metrics.is_file():
            shutil.copyfile(metrics, tmp / METRICS_NAME)
            plot_training_curves(metrics, tmp / "training.png")
        # The temporary folder is a sibling of ``out``, so the STAR's relative image paths
        # resolve from it as they will from ``out``.
        write_report(tmp, run_info=run_info)
    return resolutions
