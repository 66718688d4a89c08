"""Where predict's clusters start: spectral, common-frame, or the ``auto`` choice between them.

Per set: the spectral clusters (:func:`jimnet.predict.assign_clusters`, ``method="spectral"``)
and the common-frame clusters (``method="frame"``: every particle aligned to one average, PCA of
their observed differences from it, :mod:`jimnet.cluster.frame`), each with its clustering
accuracy and stability (:func:`jimnet.cluster.clustering_stability`, what ``--cluster auto``
compares), then ``predict``'s classical path with its defaults from each start (final
clustering accuracy, per-particle rotation error with each true class's frame fitted, wall time).
``auto`` keeps the spectral clusters when their stability reaches
:data:`jimnet.predict.pipeline.STABLE_CLUSTERS`, else the more stable of the two
(:func:`jimnet.predict.pipeline.auto_cluster_choice`); its row is the start it chose (the same
seeds give the same labels).

Usage (from the repository root; data sets as in bench_reference_free.py)::

    .venv/bin/python benchmarks/bench_cluster_start.py --snr 1 --sets shape-a shape-b shape-c \\
        --out benchmarks/results/cluster_start_snr1.md
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

from jimnet.cluster import clustering_stability
from jimnet.evaluate.clustering import clustering_accuracy
from jimnet.evaluate.poses import fitted_frame_rotation_errors
from jimnet.predict.pipeline import (
    SPACE_GMM,
    STABLE_CLUSTERS,
    assign_clusters,
    auto_cluster_choice,
    classical_alignment,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="+", default=["shape-a", "shape-b"], choices=list(SETS))
    ap.add_argument("--starts", nargs="+", default=["spectral", "frame"],
                    choices=["spectral", "frame"])
    ap.add_argument("--no-pipeline", action="store_true",
                    help="Only the starting clusters (no classical path after them).")
    add_data_options(ap)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/cluster_start.md"))
    args = ap.parse_args()
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    rows = []
    for name in args.sets:
        ps = simulated_set(name, args)
        truth = ps.class_numbers() - 1
        k = int(truth.max()) + 1
        stability = {}
        for method in args.starts:
            t0 = time.perf_counter()
            start, space, _ = assign_clusters(ps, None, k, method=method, seed=args.seed)
            t_cluster = time.perf_counter() - t0
            stability[method] = clustering_stability(space, k, seed=args.seed, **SPACE_GMM)
            acc_start = clustering_accuracy(truth, start).accuracy
            final = err = "–"
            wall = t_cluster
            if not args.no_pipeline:
                labels, rot, _, _ = classical_alignment(ps, start, global_rounds=4,
                                                        reassign_rounds=1, n_starts=2,
                                                        seed=args.seed)
                wall = time.perf_counter() - t0
                final = f"{clustering_accuracy(truth, labels).accuracy:.3f}"
                errors = fitted_frame_rotation_errors(rot, ps.poses()[0], truth, truth)
                err = f"{np.nanmean(errors):.3f}"
            print(f"{name} {method}: start {acc_start:.3f} (stability {stability[method]:.2f}, "
                  f"{t_cluster:.0f} s) → final {final}, ‖ΔR‖_F {err}, {wall:.0f} s", flush=True)
            rows.append([name, method, f"{acc_start:.3f}", f"{stability[method]:.2f}", final,
                         err, f"{t_cluster:.0f}", f"{wall:.0f}"])
        if "spectral" in stability:
            chosen = auto_cluster_choice(stability)
            for row in rows:
                if row[0] == name and row[1] == chosen:
                    row[1] += " = auto"
    head = [
        "# Where predict's clusters start: spectral, common-frame, auto",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"SNR {args.snr:g}, seed {args.seed}, Fourier-mode simulation of bench_reference_free.py's"
        " sets (32³, 12 Å/voxel). Start: the clustering step's accuracy and stability (mean "
        "adjusted Rand index of GMMs fitted on random halves; `auto` keeps spectral from "
        f"{STABLE_CLUSTERS:g}, else the more stable). Final: `predict`'s classical path with its "
        "defaults from that start (4 global rounds, 2 starts, the last reassigns, 1 local "
        "round); ‖ΔR‖_F per particle, each true class's frame fitted. Wall times include the "
        "start (the frame start aligns every particle once more). Device: CPU "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores), total wall "
        f"time {time.perf_counter() - t_start:.0f} s, load average {load_start:.1f} at the start "
        f"and {os.getloadavg()[0]:.1f} at the end (above 2 means something else ran).",
        "",
        "| set | start | clustering (start) | stability | clustering (final) | "
        "per-particle ‖ΔR‖_F | start wall (s) | total wall (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(head + ["| " + " | ".join(r) + " |" for r in rows]) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
