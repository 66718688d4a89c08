"""Reference alignment: throughput and accuracy of the old and new local refinement, same run.

Simulates particles of structures **outside** the default benchmark (``jimnet simulate
--structure …``, tilt-series mode, ±50° wedge by default) and aligns every particle to its class's
noise-free template with :func:`jimnet.align.align_to_reference` (what ``jimnet align --method ht
--reference TEMPLATE`` runs), once per refinement engine: ``hill`` (the previous engine: hill
climbing with an FFT translation search at every local rotation) and ``fit`` (quadratic fits,
Newton-carried shifts). The engines alternate per class so that machine load hits both alike.
Reported per engine and SNR: particles/s (wall clock, one torch thread) and the rotation error
``‖R_true − R_pred‖_F`` (mean, median, max, count > 0.5) against the simulation's truth.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_align_speed.py --out benchmarks/results/align_speed.md

Pick asymmetric structures: for a symmetric one an equivalent pose counts as an error.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import jimnet
from jimnet.align import AlignParams, align_to_reference
from jimnet.benchmark.protocols import load_templates
from jimnet.geometry import rotation_error_frobenius
from jimnet.io import ParticleSet

STRUCTURES = "/work/shared/data/structures/coarse_beads"
DEFAULT_STRUCTURES = [f"{STRUCTURES}/4v5d_residue_com.tsv.gz",
                      f"{STRUCTURES}/1u6g_residue_com.tsv.gz"]


def simulate(out: Path, structures: list[str], snrs: list[str], n: int, tilt: tuple[float, float],
             seed: int) -> str:
    """Run ``jimnet simulate``; returns the command line."""
    cmd = [sys.executable, "-m", "jimnet", "simulate", "--snr", ",".join(snrs), "-n", str(n),
           "--tilt-range", str(tilt[0]), str(tilt[1]), "--seed", str(seed), "--out", str(out),
           "-q"]
    for s in structures:
        cmd += ["--structure", s]
    subprocess.run(cmd, check=True)
    return shlex.join(["jimnet", *cmd[3:]])


def run(dataset: Path, engines: list[str], params: dict, batch_size: int) -> dict:
    """Align every particle of one dataset with each engine; errors and wall time per engine."""
    ps = ParticleSet.from_star(dataset / "particles.star")
    templates = load_templates(dataset)
    classes = ps.class_numbers()
    truth, _ = ps.poses()
    tilts = ps.tilt_ranges()
    out = {e: {"err": [], "wall": 0.0} for e in engines}
    for c, ref in templates.items():
        idx = np.nonzero(classes == c)[0]
        vols = ps.get_batch(idx)
        wedges = [(float(tilts[i, 0]), float(tilts[i, 1])) for i in idx]
        order = engines if c % 2 else engines[::-1]
        for e in order:
            t0 = time.perf_counter()
            res = align_to_reference([vols], ref, wedges, method="ht",
                                     params=AlignParams(refine=e, **params), batch_size=batch_size)
            out[e]["wall"] += time.perf_counter() - t0
            out[e]["err"].extend(rotation_error_frobenius(truth[idx], res.rotation.numpy()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--structure", action="append", default=None)
    ap.add_argument("--snr", nargs="+", default=["0.1", "0.05"])
    ap.add_argument("--n-per-class", type=int, default=12)
    ap.add_argument("--tilt", type=float, nargs=2, default=(-50.0, 50.0))
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--engines", nargs="+", default=["hill", "fit"])
    ap.add_argument("--params", default="{}", help="AlignParams overrides as JSON")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    structures = args.structure or DEFAULT_STRUCTURES
    params = json.loads(args.params)
    load0 = os.getloadavg()[0]
    t_all = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        sim_cmd = simulate(data, structures, args.snr, args.n_per_class, tuple(args.tilt),
                           args.seed)
        for snr in args.snr:
            d = data / f"snr_{snr}" if len(args.snr) > 1 else data
            res = run(d, args.engines, params, args.batch_size)
            for e in args.engines:
                err = np.asarray(res[e]["err"])
                rows.append((e, snr, len(err) / res[e]["wall"], err.mean(), np.median(err),
                             err.max(), int((err > 0.5).sum()), len(err), res[e]["wall"]))
                print(rows[-1], flush=True)
    wall = time.perf_counter() - t_all
    load1 = os.getloadavg()[0]
    speed = {e: np.mean([r[2] for r in rows if r[0] == e]) for e in args.engines}
    lines = [
        "# Reference alignment: old (hill) vs new (fit) local refinement, same run",
        "",
        f"Command: `{shlex.join(['python', *sys.argv])}`",
        "",
        f"- jimnet {jimnet.__version__}, torch {torch.__version__}, Python "
        f"{platform.python_version()}; CPU, {args.threads} torch thread(s) of 2 cores; load "
        f"average at start/end {load0:.2f} / {load1:.2f} (other agents' jobs were running when "
        "this is above 1).",
        f"- Data: `{sim_cmd}` (tilt-series mode, 32³, 1.2 nm); structures "
        f"{', '.join(Path(s).name for s in structures)} (not in the default benchmark).",
        "- Each particle aligned to its class's noise-free template, `method=\"ht\"`, "
        f"AlignParams defaults (what `jimnet align --method ht` uses) plus {params or 'nothing'}; "
        f"batch size {args.batch_size}.",
        f"- Wall time {wall:.0f} s in all.",
        "",
        "| engine | SNR | particles/s | mean ‖ΔR‖_F | median | max | > 0.5 | n | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e, snr, ps_, mean, med, mx, miss, n, w in rows:
        lines.append(f"| {e} | {snr} | {ps_:.2f} | {mean:.3f} | {med:.3f} | {mx:.2f} | {miss} | "
                     f"{n} | {w:.1f} |")
    if "hill" in speed and "fit" in speed:
        lines += ["", f"Speed-up fit / hill (mean particles/s over SNRs): "
                  f"{speed['fit'] / speed['hill']:.2f}×"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
