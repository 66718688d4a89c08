"""Benchmark H-T align and F&A align on the paper's pair protocol (simulated five-class set).

Same-class pairs ``(s, t)`` of simulated subtomograms with known poses ``T_s, T_t`` (reference →
particle); the truth of the pair is ``T_t ∘ T_s⁻¹`` (the pose mapping ``s`` onto ``t``). Reported
per method and SNR: rotation error ``‖R_true − R_pred‖_F`` and translation error
``‖round(t_true) − round(t_pred)‖₂`` in voxels (the paper's metrics,
:mod:`jimnet.geometry.metrics`; mean ± std over all pairs, i.e. the pooled std of the five
classes), per class, and pairs/s (wall clock, all workers together).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_align.py --n-per-class 100 --snr 100 0.1 \\
        --methods ht fa --workers 2 --out benchmarks/results/align_pairs.md

Each worker process uses one torch thread, so ``--workers 2`` uses two CPU cores.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: no spinning when contended

import json
import platform
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

import jimnet
from jimnet.align import AlignParams
from jimnet.benchmark.paper import alignment_summary
from jimnet.benchmark.protocols import align_pairs_parallel, same_class_pairs
from jimnet.evaluate.poses import relative_pose
from jimnet.geometry import geodesic_angle_deg, rotation_error_frobenius, translation_error_voxels
from jimnet.simulate import (
    PAPER_BENCHMARK,
    SimulationConfig,
    draw_truth,
    load_structure,
    make_imager,
    simulate_batches,
    structure_density,
)


def paper_cell(method: str, snr: float) -> str:
    """The paper's 5-structure mean (METHOD.md §9, derived from tables S1–S5) or ``""``."""
    cell = alignment_summary(method, snr)
    if cell is None:
        return ""
    return (f"{cell.rot_mean:.2f}±{cell.rot_std:.2f}, "
            f"{cell.trans_mean:.2f}±{cell.trans_std:.2f}")


def simulate(n_per_class: int, snrs: list[float], config: SimulationConfig
             ) -> tuple[dict[float, torch.Tensor], object]:
    """Subtomograms of the five default classes at every SNR (same particles and noise)."""
    structures = [load_structure(name) for name in PAPER_BENCHMARK]
    dens = np.stack([structure_density(s, config.box, config.voxel_size, config.resolution)[0]
                     for s in structures])
    truth = draw_truth(n_per_class, len(structures), config)
    imager = make_imager(config)
    out: dict[float, list[torch.Tensor]] = {snr: [] for snr in snrs}
    for batch in simulate_batches(dens, truth, config, imager=imager):
        for snr in snrs:
            out[snr].append(imager.combine(batch.signal, batch.noise, batch.ref_var, snr))
    return {snr: torch.cat(v) for snr, v in out.items()}, truth


def run(src: torch.Tensor, tgt: torch.Tensor, wedge: tuple[float, float], method: str,
        params: AlignParams, workers: int, chunk: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Align all pairs (:func:`jimnet.benchmark.protocols.align_pairs_parallel`); poses, wall."""
    t0 = time.perf_counter()
    res = align_pairs_parallel(src, tgt, [wedge] * len(src), [wedge] * len(src), method=method,
                               params=params, workers=workers, chunk=chunk)
    return res.rotation.numpy(), res.shift.numpy(), time.perf_counter() - t0


def fmt(x: np.ndarray) -> str:
    """``mean±std`` with two decimals."""
    return f"{x.mean():.2f}±{x.std():.2f}"


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-per-class", type=int, default=100, help="particles per class")
    ap.add_argument("--snr", type=float, nargs="+", default=[100.0, 0.1])
    ap.add_argument("--methods", nargs="+", default=["ht", "fa"])
    ap.add_argument("--mode", default="tiltseries", choices=["tiltseries", "fourier"])
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--angular-step", type=float, default=15.0)
    ap.add_argument("--particle-radius", type=float, default=10.0,
                    help="particle mask radius in voxels (<=0: none)")
    ap.add_argument("--workers", type=int, default=2, help="processes (1 torch thread each)")
    ap.add_argument("--chunk", type=int, default=5, help="pairs per job")
    ap.add_argument("--out", type=Path, required=True, help="markdown results file")
    args = ap.parse_args(argv)

    command = "python " + " ".join(shlex.quote(a) for a in [
        "benchmarks/bench_align.py", *(sys.argv[1:] if argv is None else argv)])
    config = SimulationConfig(mode=args.mode, seed=args.seed)
    t_start = time.perf_counter()
    load0 = os.getloadavg()
    vols, truth = simulate(args.n_per_class, args.snr, config)
    t_sim = time.perf_counter() - t_start
    pairs = same_class_pairs(truth.class_numbers, args.n_per_class // 2)
    s_idx, t_idx = pairs[:, 0], pairs[:, 1]
    r_true, t_true = relative_pose(truth.rotations, truth.shifts, pairs)
    pair_class = truth.class_numbers[s_idx]
    params = AlignParams(angular_step=args.angular_step,
                         particle_radius=args.particle_radius if args.particle_radius > 0
                         else None)
    wedge = (config.tilt_min, config.tilt_max)

    rows, class_rows, raw = [], [], {}
    for snr in args.snr:
        for method in args.methods:
            rot, shift, wall = run(vols[snr][s_idx], vols[snr][t_idx], wedge, method, params,
                                   args.workers, args.chunk)
            re = rotation_error_frobenius(r_true, rot)
            te = translation_error_voxels(t_true, shift)
            ang = geodesic_angle_deg(r_true, rot)
            rows.append((method, snr, fmt(re), fmt(te), float(np.median(ang)),
                         float(np.mean(ang < 10)), len(pairs) / wall, wall,
                         paper_cell(method, snr)))
            for c, name in enumerate(PAPER_BENCHMARK, start=1):
                m = pair_class == c
                class_rows.append((method, snr, f"{c} ({name})", fmt(re[m]), fmt(te[m])))
            raw[f"{method}_{snr:g}"] = {"rotation_error": re.tolist(),
                                        "translation_error": te.tolist()}
            print(f"{method} snr={snr:g}: rot {fmt(re)} trans {fmt(te)} "
                  f"{len(pairs) / wall:.3f} pairs/s ({wall:.0f} s)", flush=True)

    total = time.perf_counter() - t_start
    load1 = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        "# Pair-protocol alignment benchmark: H-T align and F&A align",
        "",
        f"Command: `{command}`",
        "",
        f"- jimnet {jimnet.__version__}, torch {torch.__version__}, Python "
        f"{platform.python_version()}",
        f"- Device: CPU ({cpu}), {os.cpu_count()} cores visible; {args.workers} worker "
        "process(es) × 1 torch thread. Load average at start/end: "
        f"{load0[0]:.2f} / {load1[0]:.2f} (other jobs shared the machine, so pairs/s is a "
        "lower bound).",
        f"- Data: simulator `{args.mode}` mode, defaults ({config.box}³ voxels, "
        f"{config.voxel_size / 10:g} nm, tilt ±{config.tilt_max:g}°, shifts ±"
        f"{config.max_shift:g} voxels per axis, integer shifts: {config.integer_shifts}), "
        f"seed {args.seed}; classes {', '.join(PAPER_BENCHMARK)} (the default five-class "
        f"set); {args.n_per_class} particles per class → {len(pairs)} same-class pairs "
        f"({args.n_per_class // 2} per class), the same pairs at every SNR.",
        f"- Truth of a pair (s, t): T_t ∘ T_s⁻¹; prediction: `align_pairs(s, t, wedge, wedge)` "
        f"with wedges ±{config.tilt_max:g}°.",
        f"- Parameters: `{json.dumps(asdict(params))}`",
        f"- Wall time: {total:.0f} s total ({t_sim:.0f} s simulation).",
        "",
        "Rotation error ‖R_true − R_pred‖_F (0 … 2√2) and translation error "
        "‖round(t_true) − round(t_pred)‖₂ (voxels): mean ± std over all pairs (pooled over the "
        "five classes). \"≤10°\": fraction of pairs within 10° (geodesic). Paper: the Jim-Net "
        "supplement's 5-structure means (METHOD.md §9).",
        "",
        "| method | SNR | rotation error | translation error (voxels) | median angle (°) | "
        "≤10° | pairs/s | wall (s) | paper (rot, trans) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, snr, r, t, med, ok, rate, wall, paper in rows:
        lines.append(f"| {method} | {snr:g} | {r} | {t} | {med:.1f} | {ok:.2f} | {rate:.3f} | "
                     f"{wall:.0f} | {paper} |")
    lines += ["", "Per class:", "", "| method | SNR | class | rotation error | translation error |",
              "|---|---|---|---|---|"]
    for method, snr, c, r, t in class_rows:
        lines.append(f"| {method} | {snr:g} | {c} | {r} | {t} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(raw) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
