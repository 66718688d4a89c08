"""Which classes the classical path keeps: the reassignment guard's score and split-and-merge.

Per set: ``predict``'s starting clusters (``--cluster auto``: spectral, or the common frame when
the spectral clusters are unstable), then :func:`jimnet.predict.pipeline.classical_alignment`
with its defaults (4 global rounds, the last reassigns, 1 local round) and split-and-merge
(:mod:`jimnet.predict.split_merge`) on. One run gives every candidate the guard compares:

* ``fixed``: the clusters as started (3 global rounds with the clusters fixed);
* ``reassign``: then one reassignment round;
* ``split-merge``: split two-fold classes, merge back to K, then one reassignment round.

For each its clustering accuracy and both guard scores: ``held-out`` (:func:`held_out_fit`:
each particle against its class's other half map, as the code's guard computed it) and
``half-maps`` (:func:`half_map_agreement`: mean gold-standard FSC-0.143 frequency). The
summary gives the clustering each configuration ends with (the best of its candidates by its
score; ties go to the later candidate, as in the code): the previous default (half-maps guard,
no split-and-merge), the held-out guard, and the held-out guard with split-and-merge.

Usage (from the repository root; data sets as in bench_reference_free.py)::

    .venv/bin/python benchmarks/bench_split_merge.py --snr 1 --sets shape-a shape-b shape-c \\
        --out benchmarks/results/split_merge_snr1.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from bench_reference_free import SETS, add_data_options, simulated_set

from jimnet.evaluate.clustering import clustering_accuracy
from jimnet.evaluate.poses import fitted_frame_rotation_errors
from jimnet.predict.pipeline import (
    choose_clusters,
    classical_alignment,
    half_map_agreement,
)

CONFIGS = {  # name → (guard score, candidates it compares)
    "half-maps guard (previous default)": ("half-maps", ("fixed", "reassign")),
    "held-out guard": ("held-out", ("fixed", "reassign")),
    "held-out guard + split-merge": ("held-out", ("fixed", "reassign", "split-merge")),
}


def kept(candidates: dict[str, dict], score: str, names: tuple[str, ...]) -> str:
    """The candidate a guard keeps: the best by ``score``, ties to the later one."""
    best = names[0]
    for name in names[1:]:
        if name in candidates and candidates[name][score] >= candidates[best][score]:
            best = name
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="+", default=["shape-a", "shape-b", "shape-c"],
                    choices=list(SETS))
    add_data_options(ap)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/split_merge.md"))
    args = ap.parse_args()
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    rows, summary = [], []
    for name in args.sets:
        ps = simulated_set(name, args)
        truth = ps.class_numbers() - 1
        k = int(truth.max()) + 1
        t0 = time.perf_counter()
        start, _, _, method, _ = choose_clusters(ps, None, k, "auto", seed=args.seed)
        candidates: dict[str, dict] = {}

        def record(stage: str, result, held_out: float, truth=truth,
                   candidates=candidates) -> None:
            candidates[stage] = {
                "accuracy": clustering_accuracy(truth, result.state.classes - 1).accuracy,
                "held-out": held_out, "half-maps": half_map_agreement(result)}

        labels, rot, _, _ = classical_alignment(ps, start, global_rounds=4, reassign_rounds=1,
                                                split_merge=True, seed=args.seed,
                                                on_candidate=record)
        wall = time.perf_counter() - t0
        err = np.nanmean(fitted_frame_rotation_errors(rot, ps.poses()[0], truth, truth))
        start_acc = clustering_accuracy(truth, start).accuracy
        for stage, c in candidates.items():
            rows.append([name, stage, f"{c['accuracy']:.3f}", f"{c['held-out']:.4f}",
                         f"{c['half-maps']:.5f}"])
        chosen = {cfg: kept(candidates, score, names)
                  for cfg, (score, names) in CONFIGS.items()}
        summary.append([name, f"{method} {start_acc:.3f}",
                        *[f"{candidates[chosen[cfg]]['accuracy']:.3f} ({chosen[cfg]})"
                          for cfg in CONFIGS],
                        f"{clustering_accuracy(truth, labels).accuracy:.3f}", f"{err:.3f}",
                        f"{wall:.0f}"])
        print(" | ".join(summary[-1]), flush=True)
    head = [
        "# Which classes the classical path keeps: guard score and split-and-merge",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"SNR {args.snr:g}, seed {args.seed}, Fourier-mode simulation of bench_reference_free.py's"
        " sets (32³, 12 Å/voxel, K given). Start: `predict --cluster auto`. Then the classical "
        "path with split-and-merge on (4 global rounds, the last reassigns, 1 local round). "
        "Device: CPU "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores), total wall "
        f"time {time.perf_counter() - t_start:.0f} s, load average {load_start:.1f} at the start "
        f"and {os.getloadavg()[0]:.1f} at the end (above 2 means something else ran).",
        "",
        "## Clustering each configuration ends with",
        "",
        "| set | start | " + " | ".join(CONFIGS) + " | this run's final | per-particle ‖ΔR‖_F "
        "(final) | wall (s) |",
        "|---|---|" + "---|" * len(CONFIGS) + "---|---|---|",
        *["| " + " | ".join(r) + " |" for r in summary],
        "",
        "## Candidates",
        "",
        "| set | candidate | clustering | held-out fit | half-map agreement (1/Å) |",
        "|---|---|---|---|---|",
        *["| " + " | ".join(r) + " |" for r in rows],
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(head) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
