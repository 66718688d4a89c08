"""Simulator speed: subtomograms per second for each imaging mode (32³, five-class benchmark).

Usage::

    .venv/bin/python benchmarks/bench_simulate.py [--n-per-class 40] [--seed 0] [--device cpu]

Measures, per mode, (a) the simulation alone (posing + imaging, ``simulate_batches``, after a
warm-up batch that builds the cached operators) and (b) the whole ``simulate_to_directory`` run
(densities, templates, simulation, global normalisation and writing every MRC/STAR file into a
temporary directory). Reports wall-clock and process CPU time, and writes
``benchmarks/results/simulate_speed.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import jimnet
from jimnet.simulate import (
    PAPER_BENCHMARK,
    SimulationConfig,
    draw_truth,
    load_structure,
    make_imager,
    simulate_batches,
    simulate_to_directory,
    structure_density,
)

RESULTS = Path(__file__).parent / "results" / "simulate_speed.md"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def bench_mode(mode: str, n_per_class: int, seed: int, device: str, threads: int) -> dict:
    torch.set_num_threads(threads)
    config = SimulationConfig(mode=mode, snr=0.1, seed=seed, device=device)
    structures = [load_structure(n) for n in PAPER_BENCHMARK]
    dens = np.stack([structure_density(s, config.box, config.voxel_size,
                                       config.resolution)[0] for s in structures])
    truth = draw_truth(n_per_class, len(structures), config)
    imager = make_imager(config)
    warm = draw_truth(1, len(structures), config.with_(seed=seed + 1))
    for _ in simulate_batches(dens, warm, config, imager=imager):  # build cached operators
        pass

    def core():
        for b in simulate_batches(dens, truth, config, imager=imager):
            imager.combine(b.signal, b.noise, b.ref_var, config.snr)

    _, core_wall, core_cpu = _timed(core)
    with tempfile.TemporaryDirectory() as tmp:
        _, e2e_wall, e2e_cpu = _timed(lambda: simulate_to_directory(
            Path(tmp) / "sim", structures, n_per_class, config))
    n = len(truth)
    return {"mode": mode, "n": n, "core_wall": core_wall, "core_cpu": core_cpu,
            "core_rate": n / core_wall, "e2e_wall": e2e_wall, "e2e_cpu": e2e_cpu,
            "e2e_rate": n / e2e_wall, "batch": config.batch_size, "threads": threads}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-class", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--modes", nargs="+", default=["fourier", "tiltseries"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch thread counts to measure")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    rows = [bench_mode(m, args.n_per_class, args.seed, args.device, t)
            for m in args.modes for t in args.threads]
    load_after = os.getloadavg()
    targets = {"fourier": 100.0, "tiltseries": 20.0}

    command = " ".join(["python", "benchmarks/bench_simulate.py", *(argv or sys.argv[1:])])
    lines = [
        "# Simulator speed",
        "",
        f"Command: `{command}`",
        "",
        f"- jimnet {jimnet.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}",
        f"- device: {args.device}; CPU: {_cpu_model()}, {os.cpu_count()} logical cores",
        f"- load average (1/5/15 min) before: {'/'.join(f'{x:.2f}' for x in load_before)}, "
        f"after: {'/'.join(f'{x:.2f}' for x in load_after)} (other jobs share this machine; "
        "CPU time is the process's own)",
        f"- data: five-class paper benchmark (3jb9, 1qvr, 4v4r_30S, 6qzp, 4cr2), "
        f"{args.n_per_class} per class, box 32³, voxel 12 Å, SNR 0.1, tilts ±60° step 1° "
        f"(121 projections), seed {args.seed}, batch {rows[0]['batch']}",
        "",
        "| mode | torch threads | particles | simulation only: wall s (CPU s) | subtomograms/s "
        "(per CPU s) | end to end incl. writing: wall s (CPU s) | subtomograms/s (per CPU s) | "
        "target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['threads']} | {r['n']} | {r['core_wall']:.2f} "
            f"({r['core_cpu']:.2f}) | **{r['core_rate']:.1f}** ({r['n'] / r['core_cpu']:.1f}) | "
            f"{r['e2e_wall']:.2f} ({r['e2e_cpu']:.2f}) | {r['e2e_rate']:.1f} "
            f"({r['n'] / r['e2e_cpu']:.1f}) | ≥ {targets.get(r['mode'], 0):g}/s |")
    lines += [
        "",
        "\"Simulation only\" = posing (rigid_transform) + imaging of every particle, after a "
        "warm-up batch. \"End to end\" adds densities, templates, global normalisation and "
        "writing all MRC + STAR + JSON files (one file per subtomogram). \"per CPU s\" = "
        "particles per second of this process's CPU time (what an otherwise idle core would "
        "give with 1 thread; with 2 threads it includes OpenMP spinning).",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
