"""Does multi-reference reassignment after ``predict``'s classical path improve its clusters?

``predict`` keeps the spectral clusters fixed while the classical engine aligns each one
(:func:`jimnet.predict.pipeline.classical_alignment`). This benchmark continues that refinement
with ``RefineConfig(reassign=True)`` for a few global rounds: every particle is aligned to every
class reference of its half set (each built from the best-scoring half of the class's members)
and moved to the best-scoring class, as ``jimnet refine`` does. It prints the clustering
accuracy, the per-particle rotation error (class frame fitted) and the confusion matrix after the
fixed-cluster stage and after each reassignment round.

Usage (from the repository root; the data are the default set of bench_reference_free.py)::

    .venv/bin/python benchmarks/bench_reassign.py \\
        /tmp/jimnet_reference_free/paper/particles.star --rounds 2 \\
        --out benchmarks/results/reassign.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jimnet.align.refine import RefineConfig, refine, state_from
from jimnet.evaluate.clustering import clustering_accuracy, contingency_matrix
from jimnet.evaluate.poses import fitted_frame_rotation_errors
from jimnet.io import ParticleSet
from jimnet.predict.pipeline import _half_sets, assign_clusters, classical_params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("star", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/reassign.md"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    load_start = os.getloadavg()[0]
    ps = ParticleSet.from_star(args.star)
    truth = ps.class_numbers() - 1
    k = int(truth.max()) + 1
    true_rot = ps.poses()[0]
    labels = assign_clusters(ps, None, k, method="spectral", seed=args.seed)[0]
    # predict's classical path (its defaults), with the state kept for the next rounds
    coarse, fine = classical_params(ps.box_size)
    config = RefineConfig(n_classes=k, n_iterations=6, global_rounds=5, params=coarse,
                          local_params=fine, reassign=False, seed=args.seed, n_starts=3,
                          start_rounds=2, top_fraction=0.5)
    halves = np.zeros(len(ps), dtype=np.int64)
    for c in range(k):
        members = np.flatnonzero(labels == c)
        halves[members] = _half_sets(ps, members)
    state = state_from(labels + 1, halves=halves, seed=args.seed)
    lines = []

    def record(tag: str, st) -> None:
        err = fitted_frame_rotation_errors(st.rotations, true_rot, truth, st.classes - 1)
        acc = clustering_accuracy(truth, st.classes - 1).accuracy
        table = contingency_matrix(truth, st.classes - 1, k, k).astype(int)
        text = (f"{tag}: clustering accuracy {acc:.3f}, per-particle ‖ΔR‖_F {np.nanmean(err):.3f}"
                f" (≤ 0.5: {np.nanmean(err < 0.5):.2f}), {time.perf_counter() - t0:.0f} s")
        print(text, flush=True)
        lines.extend([f"- {text}; true class (rows) × cluster (columns):", "", "```",
                      *(" ".join(f"{v:4d}" for v in row) for row in table), "```", ""])

    with tempfile.TemporaryDirectory() as work:
        state = refine(ps, config, work, initial=state).state
    record("spectral clusters kept (predict's classical path)", state)
    for r in range(args.rounds):
        config = dataclasses.replace(config, n_iterations=state.iteration + 1,
                                     global_rounds=state.iteration + 1, reassign=True,
                                     n_starts=1)
        with tempfile.TemporaryDirectory() as work:
            state = refine(ps, config, work, initial=state).state
        record(f"after reassignment round {r + 1}", state)
    head = [
        "# Multi-reference reassignment after the fixed-cluster classical path",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"{len(ps)} particles, {k} classes, seed {args.seed}; spectral clusters, then "
        "`predict`'s classical path, then global rounds with reassignment (raw constrained-"
        f"correlation scores). Device: CPU ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores), wall time {time.perf_counter() - t0:.0f} s, load average "
        f"{load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (above 2 means "
        "something else ran).",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(head + lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
