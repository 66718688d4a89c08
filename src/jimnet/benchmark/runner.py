"""Orchestrate ``jimnet benchmark``: datasets → training per the paper's schedule → tables.

For every SNR dataset (simulated into ``data/snr_<x>/`` when missing, :func:`ensure_datasets`):

* classical rows (``oracle``, ``ht``, ``fa``): the pair protocol on the dataset;
* networks (``jimnet``, ``gumnet``, ``jimnet-cluster``) follow the paper's SNR schedule
  (METHOD.md §5.3): trained from scratch at SNR 100, then fine-tuned from the SNR-100 model on
  every other SNR (``TrainConfig(init=…/snr_100/model.pt)``). When SNR 100 is not among the
  reported SNRs, the SNR-100 dataset is still made and used for the base models only;
* clustering baselines (``deepcluster``, ``pica``) are trained from scratch on every dataset;
* no training: ``spectral`` (the spectral clustering baseline) and ``predict`` (``jimnet
  predict``'s network-free defaults with K given: a clustering row, and an alignment row from
  the relative poses of the protocol's pairs; it sees every particle of the dataset, which a
  pair method does not).

Jim-Net gives three rows: its pair alignment (S1–S5), its GMM labels ("Jim-Net", S6–S10) and its
cluster head's argmax ("Jim-Net (cluster)" reading (b) of METHOD.md §6.3); ``jimnet-cluster`` is
reading (a), the clustering-only ablation (``TrainConfig(cluster_only=True)``).
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

import jimnet
from jimnet.benchmark.paper import SOURCE, STRUCTURES
from jimnet.benchmark.protocols import (
    ClusterScores,
    PairErrors,
    classical_pair_poses,
    load_templates,
    network_pair_poses,
    oracle_pair_poses,
    pair_errors,
    same_class_pairs,
    structure_accuracy,
)
from jimnet.benchmark.report import write_report
from jimnet.benchmark.results import BenchmarkResults, Unavailable
from jimnet.benchmark.scales import METHODS, Scale
from jimnet.cluster import cluster_features
from jimnet.device import device_description, resolve_device
from jimnet.errors import JimnetInputError
from jimnet.evaluate.poses import relative_pose
from jimnet.io import ParticleSet, atomic_output_dir, check_can_write
from jimnet.predict import predict
from jimnet.predict.pipeline import assign_clusters
from jimnet.report import write_report as write_html_report
from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory, snr_dirname
from jimnet.train.deepcluster import DeepClusterTrainer
from jimnet.train.pica import PicaTrainer
from jimnet.train.trainer import (
    CHECKPOINT_NAME,
    MODEL_NAME,
    TrainConfig,
    Trainer,
)

__all__ = ["METHODS", "NETWORKS", "NETWORK_CONFIGS", "ensure_datasets", "parse_methods",
           "run_benchmark"]

#: Methods trained at SNR 100 and fine-tuned on the other SNRs.
NETWORKS: tuple[str, ...] = ("gumnet", "jimnet", "jimnet-cluster")
BASE_SNR = 100.0
#: ``--network-config`` values: jimnet's defaults or the paper-faithful networks.
NETWORK_CONFIGS: tuple[str, ...] = ("default", "paper")
N_CLASSES = len(STRUCTURES)

Progress = Callable[[str, int, int], None]
Log = Callable[[str], None]


def parse_methods(values: Iterable[str] | None) -> tuple[str, ...]:
    """``["ht,fa", "jimnet"]`` → ``("ht", "fa", "jimnet")`` in :data:`METHODS` order.

    ``None`` or empty gives every method; an unknown name is a one-line input error.
    """
    items = [v.strip().lower() for value in (values or []) for v in value.split(",")]
    items = [v for v in items if v]
    if not items:
        return METHODS
    unknown = sorted(set(items) - set(METHODS))
    if unknown:
        raise JimnetInputError(f"--methods: unknown {', '.join(unknown)} (choose from "
                               f"{', '.join(METHODS)})")
    return tuple(m for m in METHODS if m in items)


def _is_base(snr: float) -> bool:
    return math.isclose(snr, BASE_SNR)


def _validate_snrs(snrs: Sequence[float]) -> list[float]:
    out: list[float] = []
    for snr in snrs:
        if not (math.isfinite(snr) and snr > 0):
            raise JimnetInputError(f"--snr must be a positive finite number, got {snr}")
        if any(math.isclose(snr, s) for s in out):
            raise JimnetInputError(f"--snr values must be distinct, got {snr} twice")
        out.append(float(snr))
    if not out:
        raise JimnetInputError("no SNR given")
    return out


class _Advance:
    """Adapts the simulator's ``progress(stage, advance, total)`` to ``(stage, done, total)``."""

    def __init__(self, progress: Progress, prefix: str) -> None:
        self.progress, self.prefix, self.done = progress, prefix, {}

    def __call__(self, stage: str, advance: int, total: int) -> None:
        self.done[stage] = self.done.get(stage, 0) + advance
        self.progress(f"{self.prefix} {stage}", self.done[stage], total)


def ensure_datasets(root: Path, snrs: Sequence[float], scale: Scale, seed: int,
                    progress: Progress, log: Log) -> dict[float, Path]:
    """Dataset directory ``root/snr_<x>`` of every SNR, simulating the missing ones.

    Every simulated dataset uses the same seed, so particle ``i`` has the same class, pose and
    noise field at every SNR (:func:`jimnet.simulate.simulate_to_directory`). Existing datasets
    are used as they are.

    Raises
    ------
    JimnetInputError
        A dataset directory exists without ``particles.star``.
    """
    structures = None
    out: dict[float, Path] = {}
    for snr in snrs:
        d = root / snr_dirname(snr)
        if (d / "particles.star").is_file():
            log(f"using existing dataset {d}")
            out[snr] = d
            continue
        if d.exists() and any(d.iterdir()):
            raise JimnetInputError(f"{d} exists but has no particles.star (remove it or point "
                                   "--data elsewhere)")
        structures = structures or [load_structure(s.stand_in) for s in STRUCTURES]
        config = SimulationConfig(mode=scale.sim_mode, snr=snr, seed=seed)
        simulate_to_directory(d, structures, scale.n_per_class, config, force=d.exists(),
                              progress=_Advance(progress, f"data {snr:g}"))
        log(f"simulated {d} ({scale.n_per_class} per class, {scale.sim_mode} mode)")
        out[snr] = d
    return out


def _load_dataset(path: Path) -> ParticleSet:
    ps = ParticleSet.from_star(path / "particles.star")
    classes = ps.class_numbers()
    if classes is None or "rlnAngleRot" not in ps.table.columns:
        raise JimnetInputError(f"{path / 'particles.star'}: the benchmark needs the true classes "
                               "and poses (rlnClassNumber, rlnAngle*, rlnOrigin*Angst)")
    if classes.min() < 1 or classes.max() > N_CLASSES:
        raise JimnetInputError(f"{path / 'particles.star'}: classes must be 1…{N_CLASSES} (the "
                               "paper's five structures)")
    return ps


@dataclass
class _Context:
    scale: Scale
    seed: int
    device: torch.device
    runs: Path
    progress: Progress
    log: Log
    results: BenchmarkResults
    network_config: str = "default"
    symmetries: dict[int, str] = field(default_factory=dict)

    def train_config(self, kind: str, snr: float) -> TrainConfig:
        """The paper's schedule: from scratch at SNR 100, fine-tuned from it elsewhere."""
        s = self.scale
        base = _is_base(snr) or kind not in NETWORKS
        init = None if base else str(self.runs / kind / snr_dirname(BASE_SNR) / MODEL_NAME)
        if kind in NETWORKS:
            epochs = s.epochs if base else s.finetune_epochs
            lr = s.lr if base else s.finetune_lr
        else:
            epochs, lr = s.cluster_epochs, s.lr
        model = "jimnet" if kind == "jimnet-cluster" else kind
        make = TrainConfig.paper_faithful if self.network_config == "paper" else TrainConfig
        return make(model=model, n_clusters=N_CLASSES, epochs=epochs, width=s.width,
                           batch_size=s.batch_size, lr=lr, warmup_epochs=s.warmup_epochs,
                           use_tsne=s.use_tsne, seed=self.seed, device=str(self.device),
                           init=init, cluster_only=kind == "jimnet-cluster")

    def stage(self, name: str) -> Progress:
        return lambda stage, done, total: self.progress(f"{name} {stage}", done, total)


def _train_network(ctx: _Context, ps: ParticleSet, kind: str, snr: float) -> Trainer:
    run_dir = ctx.runs / kind / snr_dirname(snr)
    trainer = Trainer(ps, ctx.train_config(kind, snr), run_dir, progress=ctx.stage(kind))
    trainer.fit()
    (run_dir / CHECKPOINT_NAME).unlink(missing_ok=True)  # model.pt is enough; saves space
    return trainer


def _gmm_labels(ctx: _Context, trainer: Trainer) -> tuple[np.ndarray, np.ndarray]:
    """GMM labels of the trained model's M_CP features and the M_CP argmax, (n,) each."""
    features, mcp = trainer.feature_pass()
    labels, _ = cluster_features(features, N_CLASSES, seed=ctx.seed,
                                 use_tsne=ctx.scale.use_tsne)
    return labels, mcp


def _network(ctx: _Context, ps: ParticleSet, kind: str, snr: float, pairs: np.ndarray,
             report: bool) -> None:
    trainer = _train_network(ctx, ps, kind, snr)
    if not report:
        return
    res, classes = ctx.results, ps.class_numbers()
    if kind in ("gumnet", "jimnet"):
        rot, shift = network_pair_poses(trainer.model, ps, pairs, trainer.norm,
                                        batch_size=ctx.scale.batch_size, device=ctx.device)
        res.set_alignment(kind, snr, pair_errors(rot, shift, *ps.poses(), pairs, classes,
                                                          ctx.symmetries))
    if kind in ("jimnet", "jimnet-cluster"):
        labels, mcp = _gmm_labels(ctx, trainer)
        res.set_clustering(kind, snr, structure_accuracy(classes, labels, N_CLASSES))
        if kind == "jimnet":
            res.set_clustering("jimnet-mcp", snr, structure_accuracy(classes, mcp, N_CLASSES))


def _clustering_baseline(ctx: _Context, ps: ParticleSet, kind: str, snr: float) -> None:
    cls = DeepClusterTrainer if kind == "deepcluster" else PicaTrainer
    trainer = cls(ps, ctx.train_config(kind, snr), ctx.runs / kind / snr_dirname(snr),
                  progress=ctx.stage(kind))
    try:
        trainer.fit()
        labels = np.asarray(trainer.predict_labels())
    except Exception as exc:  # a baseline's failure must not end an hour-long run
        ctx.log(f"{kind} at SNR {snr:g} failed: {type(exc).__name__}: {exc}")
        ctx.results.set_clustering(kind, snr, Unavailable(f"failed: {type(exc).__name__}"))
        return
    ctx.results.set_clustering(kind, snr,
                               structure_accuracy(ps.class_numbers(), labels, N_CLASSES))


def _predict_defaults(ctx: _Context, ps: ParticleSet, snr: float, pairs: np.ndarray) -> None:
    """``jimnet predict``'s network-free defaults (``--cluster auto --align classical``) with
    K given: its final classes, and the relative poses of the protocol's pairs from its
    reference-free poses (a pair split between clusters gets frames that do not match)."""
    result = predict(None, ps, n_clusters=N_CLASSES, seed=ctx.seed, device=ctx.device,
                     progress=ctx.stage("predict"), **ctx.scale.predict_options)
    classes = ps.class_numbers()
    moved = (np.mean(result.cluster_labels != result.labels)
             if result.cluster_labels is not None else 0.0)
    stability = ", ".join(f"{k} {v:.2f}" for k, v in result.cluster_stability.items())
    ctx.log(f"SNR {snr:g} predict: clusters from {result.cluster_method} (stability "
            f"{stability or 'not measured'}), {moved:.0%} of the particles moved by the "
            "reassignment")
    ctx.results.set_clustering("predict", snr,
                               structure_accuracy(classes, result.labels, N_CLASSES))
    rot, shift = relative_pose(result.rotations, result.shifts, pairs)
    ctx.results.set_alignment("predict", snr, pair_errors(rot, shift, *ps.poses(), pairs,
                                                          classes, ctx.symmetries))


def _classical(ctx: _Context, ps: ParticleSet, method: str, snr: float, pairs: np.ndarray,
               dataset: Path) -> None:
    s = ctx.scale
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        ctx.progress(f"{method} pairs" if method != "oracle" else "oracle particles", done,
                     len(pairs) if method != "oracle" else len(np.unique(pairs)))

    workers = 1 if ctx.device.type == "cuda" else s.workers  # one process drives the GPU
    kwargs = {"workers": workers, "chunk": s.chunk, "device": ctx.device, "progress": tick}
    if method == "oracle":
        rot, shift = oracle_pair_poses(ps, load_templates(dataset), pairs, s.oracle, **kwargs)
    else:
        rot, shift = classical_pair_poses(ps, pairs, method, s.align, **kwargs)
    ctx.results.set_alignment(method, snr,
                              pair_errors(rot, shift, *ps.poses(), pairs, ps.class_numbers(),
                                          ctx.symmetries))


def _summary_line(results: BenchmarkResults, method: str, snr: float) -> str:
    parts = []
    for key, row in results.alignment.items():
        entry = row.get(snr)
        if isinstance(entry, PairErrors) and key == method:
            r, rs, t, ts, n = entry.stats()
            parts.append(f"rotation {r:.2f}±{rs:.2f}, translation {t:.2f}±{ts:.2f} vox "
                         f"({n} pairs)")
    for key, row in results.clustering.items():
        entry = row.get(snr)
        if key in (method, f"{method}-mcp") and isinstance(entry, ClusterScores):
            parts.append(f"{key} accuracy {entry.overall:.1f}%")
        elif key == method and isinstance(entry, Unavailable):
            parts.append(entry.reason)
    return "; ".join(parts) or "trained"


def _run_dataset(ctx: _Context, snr: float, dataset: Path, methods: Sequence[str],
                 report: bool, tick: Callable[[], None]) -> None:
    ps = _load_dataset(dataset)
    pairs = same_class_pairs(ps.class_numbers(), ctx.scale.pairs_per_class)
    for method in methods:
        if not report and method not in NETWORKS:
            continue
        t0 = time.perf_counter()
        if method in NETWORKS:
            _network(ctx, ps, method, snr, pairs, report)
        elif method in ("deepcluster", "pica"):
            _clustering_baseline(ctx, ps, method, snr)
        elif method == "spectral":
            labels, _, _ = assign_clusters(ps, np.zeros((len(ps), 0)), N_CLASSES,
                                           method="spectral", seed=ctx.seed)
            ctx.results.set_clustering(method, snr, structure_accuracy(ps.class_numbers(),
                                                                       labels, N_CLASSES))
        elif method == "predict":
            _predict_defaults(ctx, ps, snr, pairs)
        else:
            _classical(ctx, ps, method, snr, pairs, dataset)
        seconds = time.perf_counter() - t0
        ctx.results.add_time(method, snr, seconds)
        ctx.log(f"SNR {snr:g} {method}: {_summary_line(ctx.results, method, snr)} "
                f"[{seconds:.0f} s]")
        tick()


def run_benchmark(
    out: str | os.PathLike,
    *,
    scale: Scale,
    methods: Sequence[str] | None = None,
    snrs: Sequence[float] | None = None,
    data: str | os.PathLike | None = None,
    seed: int = 0,
    device: str = "auto",
    force: bool = False,
    progress: Progress | None = None,
    log: Log | None = None,
    command: str | None = None,
    network_config: str = "default",
    symmetries: dict[int, str] | None = None,
) -> BenchmarkResults:
    """Run the paper's protocols and write tables S1–S10, summaries and plots into ``out``.

    Parameters
    ----------
    out : path-like
        Results directory (written atomically; an existing one is replaced only with ``force``).
    scale : Scale
        Size preset (:mod:`jimnet.benchmark.scales`).
    methods : sequence of str, optional
        Subset of :data:`METHODS` (default: all).
    snrs : sequence of float, optional
        SNR levels to report (default: the scale's).
    data : path-like, optional
        Dataset root holding ``snr_<x>/particles.star`` (missing SNRs are simulated there);
        default ``out/data``.
    seed : int
        Seed of the simulation, of every training run and of the final GMMs.
    device : {"auto", "cpu", "cuda"}
    force : bool
    progress : callable, optional
        ``progress(stage, done, total)``.
    log : callable, optional
        Receives one line per finished method and dataset (also appended to
        ``out/benchmark.log``).
    command : str, optional
        Command line recorded in every output header.
    symmetries : dict, optional
        Point group per class number (default C1): pose errors to the nearest symmetry mate.
    network_config : {"default", "paper"}
        Gum-Net/Jim-Net training configuration: jimnet's defaults (:class:`TrainConfig`) or
        :meth:`TrainConfig.paper_faithful`.

    Returns
    -------
    BenchmarkResults
    """
    t0 = time.perf_counter()
    report_snrs = _validate_snrs(list(snrs) if snrs else list(scale.snrs))
    methods = parse_methods(methods)
    dev = resolve_device(device)
    target = check_can_write(out, force)
    if seed < 0:
        raise JimnetInputError(f"--seed must be >= 0, got {seed}")
    if network_config not in NETWORK_CONFIGS:
        raise JimnetInputError(f"--network-config must be one of {', '.join(NETWORK_CONFIGS)}, "
                               f"got {network_config!r}")
    progress = progress or (lambda stage, done, total: None)
    user_log = log or (lambda line: None)
    run_snrs = list(report_snrs)
    if any(m in NETWORKS for m in methods) and not any(_is_base(s) for s in run_snrs):
        run_snrs.append(BASE_SNR)
    run_snrs.sort(key=lambda s: not _is_base(s))  # stable: SNR 100 first, then as given
    meta = {
        "command": command, "seed": seed, "scale": scale.name, "sizes": scale.sizes(),
        "methods": list(methods), "snrs": report_snrs, "network_config": network_config,
        "device": device_description(dev),
        "jimnet_version": jimnet.__version__, "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"), "paper_source": SOURCE,
    }
    results = BenchmarkResults(meta=meta, snrs=report_snrs)
    with atomic_output_dir(target, force=force) as tmp:
        def log(line: str) -> None:
            with open(tmp / "benchmark.log", "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            user_log(line)

        root = Path(data).expanduser().absolute() if data is not None else tmp / "data"
        meta["data"] = str(root if data is not None else target / "data")
        datasets = ensure_datasets(root, run_snrs, scale, seed, progress, log)
        meta["datasets"] = {f"{snr:g}": _dataset_record(d) for snr, d in datasets.items()}
        ctx = _Context(scale, seed, dev, tmp / "runs", progress, log, results, network_config,
                       dict(symmetries or {}))
        total = sum(len(methods) if any(math.isclose(s, r) for r in report_snrs)
                    else sum(m in NETWORKS for m in methods) for s in run_snrs)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            progress("benchmark", done, total)

        progress("benchmark", 0, total)
        for snr in run_snrs:
            report = any(math.isclose(snr, r) for r in report_snrs)
            _run_dataset(ctx, snr, datasets[snr], methods, report, tick)
        meta["wall_time_s"] = round(time.perf_counter() - t0, 1)
        write_report(tmp, results)
        write_html_report(tmp)
    return results


def _dataset_record(path: Path) -> dict:
    ps = ParticleSet.from_star(path / "particles.star")
    classes = ps.class_numbers()
    counts = {} if classes is None else {int(k): int(v) for k, v in
                                         zip(*np.unique(classes, return_counts=True), strict=True)}
    return {"path": str(path), "n_particles": len(ps), "per_class": counts}
