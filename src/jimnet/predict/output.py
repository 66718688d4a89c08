"""A prediction's output folder: STAR, class averages, half maps, FSC curves and figures."""

from __future__ import annotations

from pathlib import Path

from jimnet.average import compute_fsc, plot_fsc
from jimnet.evaluate.figures import plot_central_slices, plot_embedding, plot_training_curves
from jimnet.io import ParticleSet, atomic_output_dir, write_particle_star, write_volume
from jimnet.predict.pipeline import Prediction


def write_prediction(result: Prediction, particles: ParticleSet, out: Path, *,
                     force: bool = False, metrics: Path | None = None) -> dict[int, float]:
    """Write STAR, class averages, half maps, FSC CSVs and figures; returns Å per class."""
    voxel = particles.pixel_size
    resolutions: dict[int, float] = {}
    with atomic_output_dir(out, force=force) as tmp:
        star = particles.updated_star(out / "particles.star", rotations=result.rotations,
                                      shifts=result.shifts, class_numbers=result.labels + 1)
        star.particles["jimnetClassMCP"] = result.mcp_labels + 1
        write_particle_star(tmp / "particles.star", star)
        curves = {}
        for cls in result.classes:
            stem = f"class_{cls.number:03d}"
            write_volume(tmp / f"{stem}.mrc", cls.average.numpy(), voxel)
            if cls.half_maps is None:  # one member: no FSC
                continue
            for h, half in enumerate(cls.half_maps, start=1):
                write_volume(tmp / f"{stem}_half{h}.mrc", half.numpy(), voxel)
            fsc = compute_fsc(*cls.half_maps, voxel)
            curves[f"class {cls.number}"] = fsc
            resolutions[cls.number] = fsc.resolution
            (tmp / f"fsc_{cls.number:03d}.csv").write_text(fsc.to_csv())
        if result.classes:
            plot_central_slices([c.average.numpy() for c in result.classes],
                                [f"class {c.number}" for c in result.classes],
                                tmp / "class_averages.png")
            plot_fsc(curves, tmp / "fsc.png", title="half-map FSC")
        plot_embedding(result.embedding, result.labels, tmp / "embedding.png")
        if result.bic:
            (tmp / "classes_bic.csv").write_text(
                "classes,bic\n" + "".join(f"{k},{v:.6g}\n" for k, v in result.bic.items()))
        if metrics is not None:
            plot_training_curves(metrics, tmp / "training.png")
    return resolutions
