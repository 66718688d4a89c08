"""Reference-free alignment of known classes: how the start settles each class's frame.

The classes are given (the simulation's truth), so this measures the alignment alone:
:func:`jimnet.predict.pipeline.classical_alignment` (what ``jimnet predict --align classical``
runs on its clusters) under several start settings, scored per particle against the truth after
fitting each class average's frame (:func:`jimnet.evaluate.poses.fitted_frame_rotation_errors`).

Settings (``global rounds / starts / top fraction / particle radius``, one local round each):

* ``before``: 3 / 1 / 1.0 / 10 voxels (the defaults until this benchmark)
* ``top``: 5 / 1 / 0.5 / 10 (references from the best-scoring half of each half-class)
* ``starts``: 5 / 3 / 0.5 / 10 (three seeded starts, kept by
  :func:`jimnet.align.refine.multi_start`'s rule)
* ``auto``: 5 / 3 / 0.5 / measured per class (:func:`~jimnet.predict.pipeline.
  cluster_particle_radii`)
* ``long``: 7 / 3 / 1.0 / measured (more global rounds, references from all members)

Sets: ``paper`` (the default benchmark's five stand-ins, 100 per class, ±60°, the demo's data),
``shape-a`` / ``shape-b`` (four structures of similar size outside the benchmark, see
bench_cluster_shapes.py; 40 per class, ±50°), ``shape-c`` (four more: Rubisco, p97, Get3, 8TUX;
added after the cluster-start choice was made on shape-a/shape-b, as a check on unseen shapes).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_reference_free.py --snr 0.1 \\
        --out benchmarks/results/reference_free.md
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

from jimnet.evaluate.poses import fitted_frame_rotation_errors
from jimnet.io import ParticleSet
from jimnet.predict.pipeline import classical_alignment

SETS = {  # name → (structures, particles per class, tilt range)
    "paper": ([], 100, (-60.0, 60.0)),
    "shape-a": (["1u6g", "2cg9", "3d2f", "1f4a"], 40, (-50.0, 50.0)),
    "shape-b": (["4v4r_50S", "6utj", "7n4y", "3ipm"], 40, (-50.0, 50.0)),
    "shape-c": (["1bxn", "3cf3", "3h84", "8tux"], 40, (-50.0, 50.0)),
}
SETTINGS = {  # name → (global rounds, starts, top fraction, radius in voxels or None: measured)
    "before": (3, 1, 1.0, 10.0),
    "top": (5, 1, 0.5, 10.0),
    "starts": (5, 3, 0.5, 10.0),
    "auto": (5, 3, 0.5, None),
    "long": (7, 3, 1.0, None),
}


def simulate(name: str, structures_dir: Path, snr: float, seed: int, out: Path) -> Path:
    structures, n, tilt = SETS[name]
    cmd = [sys.executable, "-m", "jimnet", "simulate", "--mode", "fourier", "--snr", str(snr),
           "-n", str(n), "--tilt-range", str(tilt[0]), str(tilt[1]), "--seed", str(seed),
           "--out", str(out), "--force", "--quiet"]
    cmd += ["--benchmark", "paper"] if name == "paper" else []
    for s in structures:
        cmd += ["--structure", str(structures_dir / f"{s}.mrc.gz")]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out / "particles.star"


def simulated_set(name: str, args: argparse.Namespace) -> ParticleSet:
    """Set ``name`` simulated with :func:`add_data_options`' options into ``--work``."""
    return ParticleSet.from_star(simulate(name, args.structures_dir, args.snr, args.seed,
                                          args.work / f"{name}_snr{args.snr:g}"))


def add_data_options(ap: argparse.ArgumentParser) -> None:
    """The simulation options shared by the benchmarks that use :data:`SETS`."""
    ap.add_argument("--snr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--structures-dir", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data" /
                    "structures" / "polnet_mrcs_10A")
    ap.add_argument("--work", type=Path, default=Path("/tmp/jimnet_reference_free"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    add_data_options(ap)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/reference_free.md"))
    args = ap.parse_args()
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    rows = []
    for name in args.sets:
        ps = simulated_set(name, args)
        truth = ps.class_numbers() - 1
        true_rot = ps.poses()[0]
        for setting in args.settings:
            rounds, starts, top, radius = SETTINGS[setting]
            t0 = time.perf_counter()
            _, rot, _, classes = classical_alignment(ps, truth, global_rounds=rounds,
                                                  local_rounds=1, n_starts=starts,
                                                  top_fraction=top, particle_radius=radius,
                                                  seed=args.seed)
            radii = " ".join(f"{c.particle_radius:g}" for c in classes)
            wall = time.perf_counter() - t0
            err = fitted_frame_rotation_errors(rot, true_rot, truth, truth)
            per_class = " ".join(f"{e.mean():.2f}/{np.mean(e < 0.5):.2f}"
                                 for e in (err[truth == c] for c in range(truth.max() + 1)))
            rows.append((name, setting, err.mean(), np.mean(err < 0.5), per_class, radii, wall))
            print(f"{name} {setting}: mean {err.mean():.3f}, ≤ 0.5: {np.mean(err < 0.5):.2f} "
                  f"({per_class}), radii {radii}, {wall:.0f} s", flush=True)
    lines = [
        "# Reference-free alignment of known classes (start settings)",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"SNR {args.snr:g}, seed {args.seed}, Fourier-mode simulation, 32³ at 12 Å/voxel; true "
        "classes given, so only the alignment is measured. Error: per particle ‖ΔR‖_F after "
        "fitting each class average's frame to the truth (`fitted_frame_rotation_errors`). "
        f"Device: CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
        f"total wall time {time.perf_counter() - t_start:.0f} s, load average "
        f"{load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (nothing else "
        "heavy was meant to run; above 2 means something was).",
        "",
        "Settings (global rounds / starts / top fraction / particle radius in voxels, then one "
        "local round): "
        + "; ".join(f"`{k}` = {r} / {s} / {t:g} / {'measured' if p is None else f'{p:g}'}"
                    for k, (r, s, t, p) in SETTINGS.items() if k in args.settings),
        "",
        "| set | setting | mean ‖ΔR‖_F | fraction ≤ 0.5 | per class (mean/≤ 0.5) | radii (voxels) "
        "| wall (s) |",
        "|---|---|---|---|---|---|---|",
        *(f"| {n} | {s} | {m:.3f} | {f:.2f} | {c} | {r} | {w:.0f} |"
          for n, s, m, f, c, r, w in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
