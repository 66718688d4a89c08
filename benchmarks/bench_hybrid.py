"""``predict --align hybrid`` vs ``classical``: does the network's local refinement beat the
classical local round after the same global rounds?

The classes are given (the simulation's truth), so only the alignment is measured. Per set:

1. ``jimnet simulate`` the set (:data:`bench_reference_free.SETS`, Fourier mode);
2. train Jim-Net on those particles with the self-supervised in-basin curriculum (what the
   network's local refinement needs; small width for the CPU);
3. rows, all from :func:`jimnet.predict.pipeline.classical_alignment` with predict's defaults
   (4 global rounds, 2 starts, references from the best-scoring half, radius measured per
   class; no reassignment since the classes are the truth):

   * ``classical``: then 1 classical local round (``predict --align classical``);
   * ``global only``: no local round (what the network starts from; = a network answering
     the identity);
   * ``hybrid ×r``: then ``r`` rounds of :func:`~jimnet.predict.pipeline.network_refinement`
     (``predict --align hybrid --local-rounds r``).

Scores: per-particle ‖ΔR‖_F after fitting each class frame (no symmetry), its fraction ≤ 0.5,
and the mean FSC-0.143 resolution of the class half maps (Å; truth-free).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_hybrid.py --sets shape-c --snr 1 \\
        --out benchmarks/results/hybrid_snr1.md
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
import torch
from bench_reference_free import SETS, add_data_options, simulated_set

from jimnet.average.fsc import compute_fsc
from jimnet.evaluate.poses import fitted_frame_rotation_errors
from jimnet.features import global_normalisation
from jimnet.io import ParticleSet
from jimnet.predict.pipeline import classical_alignment, network_refinement
from jimnet.train.trainer import TrainConfig, Trainer


def scores(ps: ParticleSet, rot: np.ndarray, classes) -> tuple[float, float, float]:
    truth = ps.class_numbers() - 1
    err = fitted_frame_rotation_errors(rot, ps.poses()[0], truth, truth)
    res = [compute_fsc(*c.half_maps, ps.pixel_size).resolution for c in classes if c.half_maps]
    return float(np.nanmean(err)), float(np.nanmean(err < 0.5)), float(np.mean(res))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="+", default=["shape-c"], choices=list(SETS))
    add_data_options(ap)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--width", type=float, default=0.0625)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--rounds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/hybrid.md"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    rows = []
    for name in args.sets:
        ps = simulated_set(name, args)
        truth = ps.class_numbers() - 1
        t0 = time.perf_counter()
        cfg = TrainConfig(n_clusters=int(truth.max()) + 1, epochs=args.epochs, width=args.width,
                          batch_size=8, lr=args.lr, use_tsne=False, warmup_epochs=2,
                          seed=args.seed, device="cpu", curriculum="self")
        trainer = Trainer(ps, cfg, args.work / f"{name}_snr{args.snr:g}_run")
        trainer.fit()
        model = trainer.model.eval()
        train_s = time.perf_counter() - t0
        common = {"global_rounds": 4, "n_starts": 2, "top_fraction": 0.5, "seed": args.seed}
        t0 = time.perf_counter()
        _, rot, _, classes = classical_alignment(ps, truth, local_rounds=1, **common)
        rows.append((name, "classical", *scores(ps, rot, classes), time.perf_counter() - t0))
        t0 = time.perf_counter()
        _, rot, shift, classes = classical_alignment(ps, truth, local_rounds=0, **common)
        base = time.perf_counter() - t0
        rows.append((name, "global only", *scores(ps, rot, classes), base))
        norm = global_normalisation(ps)
        for r in args.rounds:
            t0 = time.perf_counter()
            h_rot, _, h_classes = network_refinement(model, ps, classes, rot, shift, norm,
                                                     rounds=r)
            rows.append((name, f"hybrid ×{r}", *scores(ps, h_rot, h_classes),
                         base + time.perf_counter() - t0))
        for row in rows[-(2 + len(args.rounds)):]:
            print(" | ".join(str(v) for v in row), flush=True)
        print(f"{name}: training {train_s:.0f} s", flush=True)
    lines = [
        "# `predict --align hybrid` vs `classical` (true classes given)",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"SNR {args.snr:g}, seed {args.seed}, Fourier-mode simulation, 32³ at 12 Å/voxel. "
        f"Network: Jim-Net width {args.width}, trained on each set's own particles for "
        f"{args.epochs} epochs (batch 8, lr {args.lr:g}, `curriculum=self`, masked loss). "
        "Classical rows: 4 global rounds, 2 starts, top fraction 0.5, radius measured per "
        "class; error: per particle ‖ΔR‖_F after fitting each class frame (no symmetry). "
        f"Device: CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch threads {torch.get_num_threads()}); total wall time "
        f"{time.perf_counter() - t_start:.0f} s; load average {load_start:.1f} at the start "
        f"and {os.getloadavg()[0]:.1f} at the end (above 2: something else ran).",
        "",
        "| set | poses | mean ‖ΔR‖_F | fraction ≤ 0.5 | mean FSC-0.143 resolution (Å) | wall (s) |",
        "|---|---|---|---|---|---|",
        *(f"| {n} | {p} | {m:.3f} | {f:.2f} | {r:.1f} | {w:.0f} |" for n, p, m, f, r, w in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
