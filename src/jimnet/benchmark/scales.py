"""Size presets of ``jimnet benchmark``: ``smoke`` (seconds, tests), ``cpu`` (2 cores), ``paper``.

Cost model of the ``cpu`` preset (SNRs 100, 0.1, 0.05, every method, 2 CPU cores)
--------------------------------------------------------------------------------------
Per-item costs measured on this project's 2-core AMD EPYC machine (shared with other jobs), from
``benchmarks/results/align_pairs.md``, ``benchmarks/results/models_speed.md`` and short timing
runs made while writing this module (width-0.125 networks, batch 16, 32³ boxes; "idle" = load
about 1, "loaded" = load 4–6, where the same step ran 5–15× slower):

=============================== ====================================== =====================
item                            cost used below                        measured
=============================== ====================================== =====================
simulation (tilt series)        20 subtomograms/s                      simulate_speed.md
H-T align, 2 workers            0.68 pairs/s (SNR 100), 0.51 (≤ 0.1)   align_pairs.md
F&A align, 2 workers            0.44 pairs/s (SNR 100), 0.19 (≤ 0.1)   align_pairs.md (loaded)
oracle (exhaustive, 15° grid)   2.1 s per particle per core            timing run (loaded)
Jim-Net training step           0.25 s per pair (fwd + bwd)            0.15 idle, 0.2–0.3 brief
Jim-Net feature pass + t-SNE    ≈ 0.03 s per particle                  0.013 idle
Gum-Net training step           0.04 s per pair                        0.03–0.045 loaded
clustering-only ablation        0.04 s per particle per epoch          0.039 idle (incl. t-SNE)
DeepCluster / PICA              0.014 / 0.020 s per particle per epoch idle
=============================== ====================================== =====================

With 40 particles per class (200 per SNR), 12 evaluation pairs per class (60 per SNR), 15 epochs
at SNR 100 and 5 fine-tuning epochs on each of SNR 0.1 and 0.05 (25 network epochs in all) and
10 epochs of DeepCluster and PICA per dataset:

================================== ========================================= ===========
stage                              arithmetic                                seconds
================================== ========================================= ===========
simulation                         600 subtomograms / 20 s⁻¹                  30
H-T align                          60/0.68 + 2 × 60/0.51                     325
F&A align                          60/0.44 + 2 × 60/0.19                     770
oracle                             3 × 120 particles × 2.1 s / 2 cores       380
Jim-Net                            25 epochs × 200 × (0.25 + 0.03)           1 400
Jim-Net (cluster) ablation         25 epochs × 200 × 0.04                    200
Gum-Net                            25 epochs × 200 × 0.04                    200
DeepCluster + PICA                 3 SNRs × 10 epochs × 200 × 0.034          205
evaluation passes, reports         ≈ 20 s per SNR                            60
**total**                                                                    ≈ 3 570 (60 min)
================================== ========================================= ===========

Measured: 2 668 s (44.5 min) on the idle 2-core machine
(``benchmarks/results/paper_tables_cpu/README.md``).

The machine is shared, so the rates vary several-fold with the load; the classical rows use the
(loaded) benchmark rates, the networks rates between idle and loaded, so a busy machine takes
longer than this estimate. The ``paper`` preset (500 particles per class, 100 pairs
per class, 100 + 20 epochs at width 1, all five SNRs) is meant for a GPU; it has not been timed
(expect many GPU-hours, dominated by Jim-Net's and the clustering baselines' training and by the
classical searches on 2,500 pairs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from jimnet.align import AlignParams
from jimnet.benchmark.paper import SNRS
from jimnet.errors import JimnetInputError

__all__ = ["SCALES", "Scale", "get_scale"]


#: Every ``--methods`` entry, in execution order within a dataset.
METHODS: tuple[str, ...] = ("oracle", "ht", "fa", "gumnet", "jimnet", "jimnet-cluster",
                            "deepcluster", "pica", "spectral", "predict")

@dataclass(frozen=True)
class Scale:
    """Sizes and settings of one benchmark run.

    Attributes
    ----------
    name : str
    n_per_class : int
        Simulated particles per class (5 classes) and SNR.
    pairs_per_class : int
        Disjoint same-class evaluation pairs per class (alignment tables).
    epochs : int
        Jim-Net / Gum-Net / clustering-only epochs at SNR 100 (from scratch).
    finetune_epochs : int
        Epochs of fine-tuning from the SNR-100 model on every other SNR.
    lr, finetune_lr : float
        Learning rates of those two phases (paper: 1e-5 and 1e-6).
    cluster_epochs : int
        DeepCluster / PICA epochs, trained from scratch on every dataset.
    width : float
        Network width multiplier (1.0 = paper size).
    batch_size : int
        Pairs (or particles) per optimisation step.
    warmup_epochs : int
        Jim-Net's per-epoch warm start of the cluster head.
    use_tsne : bool
        t-SNE before the GMM (paper) or the GMM on raw features.
    align : AlignParams
        H-T / F&A search settings.
    oracle : AlignParams
        Exhaustive-search settings of the oracle.
    workers : int
        Processes for the classical searches (1 torch thread each; 1 on a GPU).
    chunk : int
        Pairs per search job.
    sim_mode : {"tiltseries", "fourier"}
        Simulator mode of datasets made by the benchmark.
    snrs : tuple of float
        Default SNR list.
    predict_options : dict
        Keyword overrides of :func:`jimnet.predict.predict` for the ``predict`` row (empty:
        predict's defaults).
    estimate : str
        Expected wall time, for ``--help``.
    """

    name: str
    n_per_class: int
    pairs_per_class: int
    epochs: int
    finetune_epochs: int
    lr: float
    finetune_lr: float
    cluster_epochs: int
    width: float
    batch_size: int
    warmup_epochs: int
    use_tsne: bool
    align: AlignParams = field(default_factory=AlignParams)
    oracle: AlignParams = field(default_factory=AlignParams)
    workers: int = 1
    chunk: int = 5
    sim_mode: str = "tiltseries"
    snrs: tuple[float, ...] = SNRS
    predict_options: dict[str, Any] = field(default_factory=dict)
    estimate: str = ""

    def sizes(self) -> dict[str, Any]:
        """The sizes recorded in every output header (JSON-ready)."""
        out = asdict(self)
        out.pop("estimate")
        out["snrs"] = list(self.snrs)
        return out


_SMOKE_ALIGN = AlignParams(angular_step=30.0, final_step=10.0, n_candidates=2, n_peaks=20,
                           n_seeds=4, max_iter=2, particle_radius=10.0)

SCALES: dict[str, Scale] = {
    "smoke": Scale(
        name="smoke", n_per_class=4, pairs_per_class=1, epochs=1, finetune_epochs=1,
        lr=1e-4, finetune_lr=1e-5, cluster_epochs=1, width=0.0625, batch_size=4,
        warmup_epochs=1, use_tsne=False, align=_SMOKE_ALIGN, oracle=_SMOKE_ALIGN, workers=1,
        chunk=5, sim_mode="fourier", snrs=(100.0, 0.1),
        predict_options={"cluster": "spectral", "iterations": 1, "local_rounds": 0,
                         "n_starts": 1},
        estimate="about a minute on a laptop CPU (for tests; the numbers mean nothing)"),
    "cpu": Scale(
        name="cpu", n_per_class=40, pairs_per_class=12, epochs=15, finetune_epochs=5,
        lr=1e-4, finetune_lr=1e-5, cluster_epochs=10, width=0.125, batch_size=16,
        warmup_epochs=10, use_tsne=True, align=AlignParams(particle_radius=10.0),
        oracle=AlignParams(particle_radius=10.0), workers=2, chunk=5, sim_mode="tiltseries",
        snrs=(100.0, 0.1, 0.05),
        estimate="45 minutes measured on an idle 2-core CPU for SNRs 100, 0.1, 0.05 and every "
        "method before the spectral and predict rows, which add about 9 minutes (longer on a "
        "busy machine)"),
    "gpu": Scale(
        name="gpu", n_per_class=100, pairs_per_class=20, epochs=8, finetune_epochs=2,
        lr=1e-4, finetune_lr=1e-5, cluster_epochs=10, width=0.5, batch_size=32,
        warmup_epochs=10, use_tsne=True, align=AlignParams(particle_radius=10.0),
        oracle=AlignParams(particle_radius=10.0), workers=16, chunk=4, sim_mode="tiltseries",
        snrs=(100.0, 0.1, 0.05),
        estimate="sized for ≤ 10 min of one large GPU + 16 cores for the networks and H-T "
        "(benchmarks/paper_run_gpu.sh; an estimate from CPU timings, not yet run on a GPU)"),
    "paper": Scale(
        name="paper", n_per_class=500, pairs_per_class=100, epochs=100, finetune_epochs=20,
        lr=1e-5, finetune_lr=1e-6, cluster_epochs=100, width=1.0, batch_size=32,
        warmup_epochs=10, use_tsne=True, align=AlignParams(particle_radius=10.0),
        oracle=AlignParams(particle_radius=10.0), workers=1, chunk=16, sim_mode="tiltseries",
        snrs=SNRS, estimate="many GPU-hours (paper sizes; not timed)"),
}


def get_scale(name: str) -> Scale:
    """The preset called ``name``; unknown names are a one-line input error."""
    try:
        return SCALES[name]
    except KeyError:
        raise JimnetInputError(f"--scale must be one of {', '.join(SCALES)}, got {name!r}"
                               ) from None
