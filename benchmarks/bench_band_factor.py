"""Reference alignment and pair alignment against the truth for a few search settings.

For each set (``jimnet simulate``, Fourier mode), ``--n`` particles per class are aligned to
their class's true, noise-free template (:func:`jimnet.align.align_to_reference`) and ``--pairs``
same-class particle pairs to each other (:func:`jimnet.align.align_pairs`), with each setting of
``SETTINGS``; errors are ‖ΔR‖_F against the simulation's poses (a miss: > 0.5).

Sets: ``paper`` = the default benchmark's five stand-ins (±60°); ``shape-b`` = 4v4r_50S, 6utj,
7n4y, 3ipm from shared/data/structures/polnet_mrcs_10A (±50°), none in the benchmark.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_band_factor.py --snr 0.1 --n 6 --pairs 4 \\
        --out benchmarks/results/band_factor.md
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
import torch

from jimnet.align import AlignParams, align_pairs, align_to_reference
from jimnet.evaluate.poses import pair_pose_errors
from jimnet.geometry import rotation_error_frobenius
from jimnet.io import ParticleSet, read_volume
from jimnet.predict.pipeline import classical_params

STRUCTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "structures"
SETS = {"paper": ([], (-60.0, 60.0)),
        "shape-b": (["4v4r_50S", "6utj", "7n4y", "3ipm"], (-50.0, 50.0))}


def settings(box: int) -> dict[str, AlignParams]:
    radius = 5.0 * box / 16.0
    return {"engine defaults (band 1.5)": AlignParams(particle_radius=radius),
            "engine defaults, band 3.5": AlignParams(band_factor=3.5, particle_radius=radius),
            "predict's global rounds": classical_params(box)[0]}


def simulate(name: str, snr: float, n: int, seed: int, out: Path) -> Path:
    names, tilt = SETS[name]
    cmd = [sys.executable, "-m", "jimnet", "simulate", "--mode", "fourier", "--snr", f"{snr:g}",
           "-n", str(n), "--tilt-range", str(tilt[0]), str(tilt[1]), "--seed", str(seed),
           "--out", str(out), "--force", "--quiet"]
    cmd += ["--benchmark", "paper"] if name == "paper" else [
        a for s in names for a in ("--structure", str(STRUCTURES / "polnet_mrcs_10A" /
                                                      f"{s}.mrc.gz"))]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out / "particles.star"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--snr", type=float, default=0.1)
    ap.add_argument("--n", type=int, default=8, help="particles per class aligned to the truth")
    ap.add_argument("--pairs", type=int, default=6, help="same-class pairs per class")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/jimnet_band_factor"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    load0, t_all = os.getloadavg()[0], time.perf_counter()
    rows = []
    for name in args.sets:
        ps = ParticleSet.from_star(simulate(name, args.snr, max(args.n, 2 * args.pairs),
                                            args.seed, args.work / name))
        classes, (rot, shift), tilts = ps.class_numbers(), ps.poses(), ps.tilt_ranges()
        refs = sorted((ps.star_path.parent / "references").glob("*.mrc"))
        rng = np.random.default_rng(args.seed)
        for label, params in settings(ps.box_size).items():
            ref_err, pair_err, t_ref, t_pair = [], [], 0.0, 0.0
            for k in range(1, int(classes.max()) + 1):
                idx = np.flatnonzero(classes == k)
                ref = torch.as_tensor(read_volume(refs[k - 1])[0])
                sel = idx[:args.n]
                t0 = time.perf_counter()
                res = align_to_reference([ps.get_batch(sel)], ref, [tuple(tilts[i]) for i in sel],
                                         params=params)
                t_ref += time.perf_counter() - t0
                ref_err.append(rotation_error_frobenius(res.rotation.numpy(), rot[sel]))
                pairs = rng.permutation(idx)[:2 * args.pairs].reshape(-1, 2)
                t0 = time.perf_counter()
                res = align_pairs(ps.get_batch(pairs[:, 0]), ps.get_batch(pairs[:, 1]),
                                  [tuple(tilts[i]) for i in pairs[:, 0]],
                                  [tuple(tilts[i]) for i in pairs[:, 1]], params=params,
                                  batch_size=8)
                t_pair += time.perf_counter() - t0
                pair_err.append(pair_pose_errors(res.rotation.numpy(), res.shift.numpy(), rot,
                                                 shift, pairs)[0])
            e, p = np.concatenate(ref_err), np.concatenate(pair_err)
            rows.append((name, label, e.mean(), (e > 0.5).mean(), t_ref / len(e), p.mean(),
                         (p <= 0.5).mean(), t_pair / len(p)))
            print(rows[-1], flush=True)
    lines = [
        f"# Search settings vs the truth at SNR {args.snr:g}",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"Seed {args.seed}; {args.n} particles per class aligned to their true template, "
        f"{args.pairs} same-class pairs per class; Fourier-mode simulation, 32³, 12 Å voxels, "
        f"CTF at −2 µm. Device: CPU ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, 2 torch threads); wall time {time.perf_counter() - t_all:.0f} s; "
        f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (other "
        "agents' jobs were running when above 2, so the seconds are upper bounds).",
        "",
        "| set | setting | to truth: mean ‖ΔR‖_F | misses (> 0.5) | s/particle | pairs: mean "
        "‖ΔR‖_F | pairs ≤ 0.5 | s/pair |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.3f} | {r[6]:.2f} | "
          f"{r[7]:.2f} |" for r in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
