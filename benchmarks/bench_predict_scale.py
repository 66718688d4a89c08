"""``jimnet predict`` at growing N: wall time and peak resident memory (issue "the main job
delivers", point 4: RSS at 10 000 particles within 1.5× of 1 000, time linear in N).

Usage::

    .venv/bin/python benchmarks/bench_predict_scale.py [--n 1000 10000] [--cluster spectral]
        [--work /tmp/jimnet-predict-scale] [--train-n 100] [--epochs 1] [--seed 0]

Steps: ``jimnet simulate`` the five-class paper set once at the largest N (Fourier mode, SNR 0.1,
32³, on disk under ``--work``); every smaller N is an evenly spaced subset of its rows (a STAR
beside the first, so the same files are read); ``jimnet train`` a small model on ``--train-n``
particles; then one ``jimnet predict`` process per N, whose wall time and peak RSS
(``os.wait4`` rusage of that child alone) are recorded in
``benchmarks/results/predict_scale.md``. The particles are streamed from disk by predict; the
page cache is not dropped between runs (no root), so every N reads warm files.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import jimnet
from jimnet.io import read_particle_star, write_particle_star

RESULTS = Path(__file__).parent / "results" / "predict_scale.md"
JIMNET = [sys.executable, "-m", "jimnet"]


def run_measured(cmd: list[str], log: Path) -> tuple[float, float]:
    """Run ``cmd`` (output to ``log``); return (wall s, peak RSS GB) of that process alone."""
    with open(log, "w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}; see {log}")
    return wall, usage.ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def subset_star(star: Path, n: int) -> Path:
    """A STAR beside ``star`` with ``n`` evenly spaced rows (all classes, same files)."""
    if n == len(read_particle_star(star).particles):
        return star
    content = read_particle_star(star)
    rows = np.linspace(0, len(content.particles) - 1, n).round().astype(int)
    content.particles = content.particles.iloc[rows].reset_index(drop=True)
    out = star.with_name(f"particles_{n}.star")
    write_particle_star(out, content, force=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--cluster", default="spectral", choices=("network", "spectral"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/jimnet-predict-scale"))
    parser.add_argument("--train-n", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = sorted(args.n)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    data = work / "data"
    star = data / "particles.star"
    per_class = -(-sizes[-1] // 5)
    if not star.is_file():
        wall, _ = run_measured([*JIMNET, "simulate", "--benchmark", "paper", "--mode", "fourier",
                                "--snr", "0.1", "--n-per-class", str(per_class), "--seed",
                                str(args.seed), "--out", str(data), "--force", "--quiet"],
                               work / "simulate.log")
        print(f"simulated {5 * per_class} particles in {wall:.0f} s", flush=True)
    run = work / "model"
    model = run / "model.pt"
    if not model.is_file():
        wall, _ = run_measured([*JIMNET, "train", str(subset_star(star, args.train_n)), "--out",
                                str(run), "--classes", "5", "--epochs", str(args.epochs),
                                "--seed", str(args.seed), "--device", "cpu", "--force",
                                "--quiet"], work / "train.log")
        print(f"trained on {args.train_n} particles in {wall:.0f} s", flush=True)
    rows = []
    for n in sizes:
        cmd = [*JIMNET, "predict", str(subset_star(star, n)), "--model", str(model), "--out",
               str(work / f"predict_{n}"), "--cluster", args.cluster, "--align", "network",
               "--refine", "none",
               "--seed", str(args.seed), "--device", "cpu", "--force", "--quiet"]
        wall, rss = run_measured(cmd, work / f"predict_{n}.log")
        rows.append((n, wall, rss, os.getloadavg()))
        print(f"N={n}: {wall:.0f} s, peak RSS {rss:.2f} GB", flush=True)
    write_results(args, sizes, rows, load_before, cmd)


def write_results(args: argparse.Namespace, sizes: list[int], rows: list, load_before,
                  last_cmd: list[str]) -> None:
    base_n, base_wall, base_rss, _ = rows[0]
    table = ["| particles | wall s | s per 1000 particles | peak RSS GB | RSS / RSS(N="
             f"{base_n}) | time / time(N={base_n}) | load average after (1/5/15 min) |",
             "|---|---|---|---|---|---|---|"]
    for n, wall, rss, load in rows:
        table.append(f"| {n} | {wall:.0f} | {1000 * wall / n:.1f} | {rss:.2f} | "
                     f"{rss / base_rss:.2f} | {wall / base_wall:.2f} (N ratio {n / base_n:g}) | "
                     f"{' / '.join(f'{x:.1f}' for x in load)} |")
    shown = " ".join(a if " " not in a else repr(a) for a in last_cmd[3:])
    lines = [
        "# `jimnet predict` at scale: wall time and peak memory vs N",
        "",
        f"- command: `python benchmarks/bench_predict_scale.py --n {' '.join(map(str, sizes))} "
        f"--cluster {args.cluster} --train-n {args.train_n} --epochs {args.epochs} "
        f"--seed {args.seed}`",
        f"- data: `jimnet simulate --benchmark paper --mode fourier --snr 0.1 --n-per-class "
        f"{-(-sizes[-1] // 5)} --seed {args.seed}` (32³, 12 Å, tilt ±60°); smaller N = evenly "
        "spaced rows of the same STAR (same files)",
        f"- model: `jimnet train` on {args.train_n} of them, {args.epochs} epoch(s), default width "
        "0.25, K = 5 (only its speed matters here, not its accuracy)",
        f"- predict mode: clusters `--cluster {args.cluster}`, network alignment (predict's "
        "default `--iterations`, 4 reference-free rounds per class, `--refine none`), half maps "
        f"+ FSC, report.html; one process per N, e.g. `jimnet {shown}`",
        f"- jimnet {jimnet.__version__}, torch {torch.__version__}, Python "
        f"{platform.python_version()}; device: CPU, {os.cpu_count()} logical cores, torch "
        f"threads {torch.get_num_threads()}; peak RSS = `os.wait4` ru_maxrss of the predict "
        "process alone",
        f"- load average (1/5/15 min) before: {' / '.join(f'{x:.1f}' for x in load_before)} "
        "(nothing else heavy was meant to run; a load above the core count means something "
        "did)",
        "",
        *table,
        "",
    ]
    args.results.write_text("\n".join(lines))
    print(args.results.read_text())


if __name__ == "__main__":
    main()
