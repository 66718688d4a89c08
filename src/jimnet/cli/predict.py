"""``jimnet predict``: cluster, align and average particles with a trained Jim-Net model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from jimnet.cli.common import (
    ClusterMethod,
    PosesFrom,
    handle_input_errors,
    parse_classes,
    parse_symmetry,
    stage_progress,
    stdout_console,
    to_working_box,
)
from jimnet.errors import JimnetInputError
from jimnet.geometry.symmetry import SYMMETRY_HELP

if TYPE_CHECKING:
    from jimnet.io import ParticleSet
    from jimnet.predict import Prediction

__all__ = ["predict_command"]


def _write_and_report(result: Prediction, particles: ParticleSet, out: Path, model: Path,
                      force: bool, seed: int, console: Console, info: dict,
                      symmetry: str = "C1") -> None:
    """Rank 0's part: the output folder with its report, a table of the classes, truth metrics
    if known."""
    from jimnet.evaluate.truth import truth_metrics
    from jimnet.io.metrics import METRICS_NAME
    from jimnet.predict import write_prediction
    from jimnet.predict.pipeline import STABLE_CLUSTERS

    scores = truth_metrics(result, particles, seed, symmetry)
    config = model.parent / "config.json"  # written by jimnet train beside model.pt
    training = json.loads(config.read_text()) if config.is_file() else None
    metrics = model.parent / METRICS_NAME
    radii = {str(c.number): round(c.particle_radius * particles.pixel_size, 1)
             for c in result.classes if c.particle_radius is not None}
    resolutions = write_prediction(result, particles, out, force=force,
                                   metrics=metrics if metrics.is_file() else None,
                                   run_info={**info, "scores": scores, "training": training,
                                             "particle_radius_angstrom": radii})
    if result.bic:
        console.print(f"K = {min(result.bic, key=result.bic.__getitem__)} chosen by BIC over K = "
                      f"{min(result.bic)}…{max(result.bic)} (classes_bic.csv)")
    if result.cluster_stability:
        tried = ", ".join(f"{m} {v:.2f}" for m, v in result.cluster_stability.items())
        console.print(f"--cluster auto chose {result.cluster_method} (cluster stability, "
                      f"adjusted Rand index of half-fits: {tried}; spectral is kept from "
                      f"{STABLE_CLUSTERS:g})")
    table = Table("class", "particles", "resolution (Å, FSC 0.143)",
                  *(["mask radius (Å)"] if radii else []),
                  title=f"jimnet predict (clusters: {result.cluster_method}"
                  f"{', then reassigned' if result.cluster_labels is not None else ''}, poses: "
                  f"{result.align_method})")
    for cls in result.classes:
        res = resolutions.get(cls.number)  # none for a one-member class
        table.add_row(str(cls.number), str(len(cls.members)), "–" if res is None else f"{res:.1f}",
                      *([f"{radii.get(str(cls.number), float('nan')):g}"] if radii else []))
    console.print(table)
    if scores:
        console.print(", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    console.print(f"outputs: {out} (summary: {out / 'report.html'})")


def _note_voxel_size(particles: ParticleSet, extra: dict, console: Console) -> None:
    """One line when the working voxel size differs from the training set's by over 5 %: the
    network saw structures at another scale."""
    trained = extra.get("pixel_size")
    if trained and abs(particles.pixel_size / trained - 1.0) > 0.05:
        console.print(f"note: working voxel size {particles.pixel_size:.4g} Å differs from the "
                      f"model's training voxel size {trained:.4g} Å")


@handle_input_errors
def predict_command(
    particles: Annotated[Path, typer.Argument(help="Particle STAR file (RELION 3.1–5).",
                                              show_default=False)],
    model: Annotated[Path, typer.Option("--model", help="model.pt (or checkpoint.pt) written "
                                        "by jimnet train.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (report.html, "
                                      "particles.star, class_NNN.mrc, half maps, fsc_NNN.csv, "
                                      "embedding.csv, run.json, PNG figures).")],
    classes: Annotated[str | None, typer.Option(
        "--classes", "-k", help="Number of clusters K ≥ 1, or 'auto': the K in 1…10 with the "
        "lowest BIC of the GMM (curve written to classes_bic.csv). Default: the model's K.",
        show_default=False)] = None,
    cluster: Annotated[ClusterMethod, typer.Option(
        help="What the clusters are computed from: 'spectral' = PCA → GMM of each particle's "
        "power per Fourier shell over its observed (non-wedge) frequencies: rotation- and "
        "shift-invariant, fast, separates classes that differ in size but not in shape; "
        "'frame' = PCA → GMM of each particle's observed difference from one average of all "
        "particles after aligning them all to it: sees shape, costs one more alignment of "
        "every particle (about 5 global searches each), needs SNR ≳ 1; 'auto' (default) = "
        "spectral, unless its clusters are unstable (GMMs fitted on random halves disagree: "
        "adjusted Rand index < 0.6), then also frame, keeping the more stable; 'network' = "
        "t-SNE → GMM of the model's M_CP features (the paper).")
    ] = ClusterMethod.auto,
    align: Annotated[PosesFrom, typer.Option(
        help="What aligns each class's members: 'classical' = reference-free refinement by "
        "wedge-aware constrained-correlation search with gold-standard half sets (global "
        "rounds, then local ones; about 0.1–0.5 s per particle and round on a CPU core); "
        "'hybrid' = the classical global rounds, then the --local-rounds done by the "
        "network (each member corrected against its half map, posed and seen through the "
        "member's missing wedge); 'network' = the trained network aligns every member onto "
        "the class average (fast; see README 'Results' for how they compare).")
    ] = PosesFrom.classical,
    iterations: Annotated[int, typer.Option(help="Reference-free rounds per class (classical: "
                                            "rounds with a global search).")] = 4,
    local_rounds: Annotated[int, typer.Option(help="Classical: local-search rounds after the "
                                              "global ones; hybrid: network refinement "
                                              "rounds instead.")] = 1,
    reassign_rounds: Annotated[int | None, typer.Option(
        help="Classical, hybrid: how many of the global rounds (the last) move particles between "
        "classes: every particle is aligned to every class average of its half set (K× the "
        "cost of a round) and moved to the class where its score minus the class's mean score over "
        "the particles is highest, kept only if the particles then correlate at least as well "
        "with their class's other half map (each half set refined on its own, so noise fitted "
        "into a map does not count) as before. 0 keeps the clusters as clustered. Must be < "
        "--iterations "
        "[default: 1, or 0 with --iterations 1].", show_default=False)] = None,
    split_merge: Annotated[bool, typer.Option(
        "--split-merge/--no-split-merge",
        help="Classical, hybrid, with reassignment: also try splitting every class whose "
        "aligned members fall into two groups and merging the most alike classes back to K, "
        "then reassigning; kept only if its classes explain the particles better (the same "
        "held-out test as the reassignment). Repairs a start that spread one structure over "
        "two clusters while two others share one. Costs one more reassignment round when a "
        "class splits.")
    ] = True,
    starts: Annotated[int, typer.Option(help="Classical, hybrid: reference-free starts per "
                                        "half set and class (each from another seeded member, 2 "
                                        "rounds); per class the half-1 and half-2 starts "
                                        "whose averages agree best are kept.")] = 2,
    top_fraction: Annotated[float, typer.Option(help="Classical, hybrid: fraction of each class's "
                                                "best-scoring members averaged into the "
                                                "global rounds' references (0–1].")] = 0.5,
    particle_radius: Annotated[float | None, typer.Option(
        help="Classical, hybrid: particle radius in Å, for the soft mask around each particle "
        "(default: measured per class from its members' band-passed energy profile, printed "
        "in the class table).", show_default=False)] = None,
    refine: Annotated[str, typer.Option(help="Network alignment only: then one classical pass: "
                                        "'ht' or 'fa' aligns every member to its class "
                                        "average by wedge-aware constrained-correlation search "
                                        "(slow on a CPU: about 1–3 s per particle), 'none' "
                                        "skips it.")] = "none",
    angular_step: Annotated[float, typer.Option(min=1.0, max=90.0, help="Global angular "
                                                "step of --refine, degrees (then refined "
                                                "locally to 1°).")] = 15.0,
    symmetry: Annotated[str, typer.Option(
        "--symmetry", help=SYMMETRY_HELP + " Used by the classical search (one asymmetric "
        "unit), --refine's search, the class averages (symmetrised) and the truth pose "
        "errors.")] = "C1",
    batch_size: Annotated[int, typer.Option(help="Particles per batch.")] = 16,
    tsne: Annotated[bool, typer.Option("--tsne/--no-tsne", help="t-SNE before the GMM.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the clustering and reference choice.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    pixel_size: Annotated[float | None, typer.Option(help="Voxel size in Å (overrides the "
                                                     "STAR/MRC headers).", show_default=False)
                          ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Cluster PARTICLES, align each cluster's members onto their wedge-weighted class average
    and write the results.

    The output STAR keeps every input column and sets rlnClassNumber (GMM cluster, 1-based),
    jimnetClassMCP (the cluster head's prediction) and rlnAngleRot/Tilt/Psi (degrees, RELION
    ZYZ) with rlnOrigin{X,Y,Z}Angst (Å) such that the class average rotated and shifted by them
    matches the particle (RELION's convention). FSC is between half maps (threshold 0.143).

    Particles in a box other than the model's are Fourier-cropped (or padded) to it on read,
    said in one line; averages, half maps and FSC then have the working voxel size (the files'
    voxel size × their box / the model's box), and the STAR's origins stay in Å.

    Several processes: torchrun --nproc-per-node N -m jimnet predict ... shards the particles
    across the processes (gloo on CPU, NCCL + gloo on GPU); only rank 0 writes and prints.
    """
    settings = dict(locals())  # every argument as given, for run.json
    from jimnet.align import AlignParams
    from jimnet.device import resolve_device
    from jimnet.distributed import finish, init_from_environment, rank_and_world
    from jimnet.io import ParticleSet
    from jimnet.models import JimNet3D, load_checkpoint, model_from_checkpoint
    from jimnet.predict import model_normalisation, predict
    from jimnet.report import run_info

    started = datetime.now(UTC)
    if not model.is_file():
        raise JimnetInputError(f"model file not found: {model}")
    if iterations < 1 or batch_size < 1 or local_rounds < 0 or starts < 1:
        raise JimnetInputError("--iterations, --starts and --batch-size must be ≥ 1, "
                               "--local-rounds ≥ 0")
    if reassign_rounds is not None and not 0 <= reassign_rounds < iterations:
        raise JimnetInputError(f"--reassign-rounds must be ≥ 0 and < --iterations "
                               f"({iterations}), got {reassign_rounds}")
    if not 0 < top_fraction <= 1:
        raise JimnetInputError(f"--top-fraction must be in (0, 1], got {top_fraction:g}")
    if particle_radius is not None and particle_radius <= 0:
        raise JimnetInputError(f"--particle-radius must be > 0 Å, got {particle_radius:g}")
    if refine not in ("none", "ht", "fa"):
        raise JimnetInputError(f"--refine must be none, ht or fa, got {refine!r}")
    if out.exists() and not force:
        raise JimnetInputError(f"output already exists: {out} (use --force to overwrite)")
    symmetry = parse_symmetry(symmetry)
    try:
        ckpt = load_checkpoint(model)
        ckpt = ckpt.get("model_checkpoint", ckpt)
        net = model_from_checkpoint(ckpt)
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        raise JimnetInputError(f"cannot read a jimnet model from {model}: {exc}") from None
    if not isinstance(net, JimNet3D):
        raise JimnetInputError(f"{model} holds a {type(net).__name__}; predict needs a Jim-Net "
                               "model (jimnet train --model jimnet)")
    ps = ParticleSet.from_star(particles, pixel_size=pixel_size)
    n_clusters = parse_classes(classes, len(ps), particles)
    dev = resolve_device(device)
    init_from_environment(dev.type)
    is_main = rank_and_world()[0] == 0  # every rank computes its share; rank 0 writes/prints
    console = stdout_console()
    if not is_main:
        console.quiet = True
    ps = to_working_box(ps, net.config.input_size, console, "the model's box")
    _note_voxel_size(ps, ckpt.get("extra", {}), console)
    settings.update(working_box=ps.box_size, working_pixel_size=ps.pixel_size)
    with stage_progress(console, quiet=quiet or not is_main) as progress:
        radius_vox = None if particle_radius is None else particle_radius / ps.pixel_size
        result = predict(net, ps, n_clusters=n_clusters, cluster=str(cluster), align=str(align),
                         normalisation=model_normalisation(ckpt.get("extra", {}), ps),
                         iterations=iterations, local_rounds=local_rounds,
                         reassign_rounds=reassign_rounds, n_starts=starts,
                         top_fraction=top_fraction,
                         particle_radius=radius_vox, symmetry=symmetry,
                         split_merge=split_merge, refine=refine,
                         refine_params=AlignParams(angular_step=angular_step, symmetry=symmetry),
                         batch_size=batch_size, seed=seed,
                         use_tsne=tsne, device=dev, progress=progress)
    try:
        if is_main:
            settings.update(cluster_used=result.cluster_method,
                            cluster_stability=result.cluster_stability)
            info = run_info("jimnet predict", settings, device=dev, started=started,
                            processes=rank_and_world()[1])
            _write_and_report(result, ps, out, model, force, seed, console, info, symmetry)
    finally:
        finish()  # every rank waits for rank 0's writing
