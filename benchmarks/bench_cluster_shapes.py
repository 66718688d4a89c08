"""Clustering accuracy on classes that differ in shape, not size (issue "Clustering by structure").

Simulates sets of four structures of similar radius of gyration (none of them in the default
benchmark) with ``jimnet simulate`` (Fourier mode, a ±50° wedge by default), then clusters each
set with every method asked for and scores the clusters against the truth (Hungarian accuracy).

Sets (maps from ``shared/data/structures/polnet_mrcs_10A``, 10 Å/voxel, Rg from the maps):

* ``shape-a``: 1u6g, 2cg9, 3d2f, 1f4a (Rg 42–54 Å)
* ``shape-b``: 4v4r_50S, 6utj, 7n4y, 3ipm (Rg 67–82 Å)
* ``paper``: the default benchmark's five stand-ins (they differ in size)

Methods:

* ``spectral``: :func:`jimnet.predict.assign_clusters` with ``method="spectral"`` (wedge-aware
  shell power → PCA → GMM), K given.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_cluster_shapes.py --sets shape-a shape-b --snr 1 0.1 \\
        --n-per-class 40 --out benchmarks/results/cluster_shapes.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from jimnet.evaluate import clustering_accuracy
from jimnet.io import ParticleSet
from jimnet.predict import assign_clusters

SETS = {
    "shape-a": ["1u6g", "2cg9", "3d2f", "1f4a"],
    "shape-b": ["4v4r_50S", "6utj", "7n4y", "3ipm"],
    "paper": [],
}
METHODS = ("spectral",)


def simulate(name: str, structures_dir: Path, snrs: list[float], n: int, tilt: tuple[float, float],
             seed: int, out: Path) -> None:
    cmd = [sys.executable, "-m", "jimnet", "simulate", "--mode", "fourier", "--snr",
           ",".join(str(s) for s in snrs), "-n", str(n), "--tilt-range", str(tilt[0]),
           str(tilt[1]), "--seed", str(seed), "--out", str(out), "--force", "--quiet"]
    if name == "paper":
        cmd += ["--benchmark", "paper"]
    for s in SETS[name]:
        cmd += ["--structure", str(structures_dir / f"{s}.mrc.gz")]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def score(method: str, star: Path, seed: int) -> tuple[float, float]:
    ps = ParticleSet.from_star(star)
    k = len(np.unique(ps.class_numbers()))
    t0 = time.perf_counter()
    labels, _, _ = assign_clusters(ps, np.zeros((len(ps), 1)), k, method=method, seed=seed)
    return clustering_accuracy(ps.class_numbers(), labels).accuracy, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="+", default=["shape-a", "shape-b"], choices=sorted(SETS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--snr", nargs="+", type=float, default=[1.0, 0.1])
    ap.add_argument("--n-per-class", type=int, default=40)
    ap.add_argument("--tilt-range", nargs=2, type=float, default=(-50.0, 50.0))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--structures-dir", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data" /
                    "structures" / "polnet_mrcs_10A")
    ap.add_argument("--work", type=Path, default=Path("/tmp/jimnet_cluster_shapes"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/cluster_shapes.md"))
    args = ap.parse_args()
    t_start = time.perf_counter()
    rows = []
    for name in args.sets:
        data = args.work / name
        simulate(name, args.structures_dir, args.snr, args.n_per_class, tuple(args.tilt_range),
                 args.seed, data)
        for snr in args.snr:
            star = (data / f"snr_{snr:g}" / "particles.star" if len(args.snr) > 1
                    else data / "particles.star")
            for method in args.methods:
                acc, wall = score(method, star, args.seed)
                rows.append((name, snr, method, acc, wall))
                print(f"{name} SNR {snr:g} {method}: {acc:.3f} ({wall:.1f} s)", flush=True)
    lines = [
        "# Clustering classes that differ in shape, not size",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"Seed {args.seed}, {args.n_per_class} particles per class, Fourier-mode simulation, "
        f"tilt range {args.tilt_range[0]:g}…{args.tilt_range[1]:g}°, 32³ at 12 Å/voxel. "
        f"Device: CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
        f"total wall time {time.perf_counter() - t_start:.0f} s, load average at the end "
        f"{os.getloadavg()[0]:.1f} (other jobs may have been running).",
        "",
        "Structures: " + "; ".join(f"`{k}` = {', '.join(v) or 'default benchmark'}"
                                   for k, v in SETS.items() if k in args.sets),
        "",
        "| set | SNR | method | accuracy | wall (s) |",
        "|---|---|---|---|---|",
        *(f"| {n} | {s:g} | {m} | {a:.3f} | {w:.1f} |" for n, s, m, a, w in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
