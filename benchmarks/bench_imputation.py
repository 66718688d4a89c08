"""How much does each alignment loss reward the true pose, and how much a wrong one?

For same-class pairs of simulated subtomograms (five default classes, known poses) the script
evaluates two losses at three kinds of pose mapping the source onto the target:

* **imputed** — Gum-Net/Jim-Net's ``1 − r²`` between the target and the warped source whose
  rotated missing wedge is filled with the target's Fourier coefficients (the paper's loss);
* **masked** — ``1 − r²`` over the frequencies observed in both volumes, no imputation
  (:func:`jimnet.losses.masked_alignment_loss`);

at the **true** relative pose, at uniformly **random** rotations (true shift), and at the true pose
followed by a 90° turn about the tilt axis (the pose that moves the wedge most). It also reports,
per pair, whether the best of ``--n-random`` random rotations scores better than the truth: a loss
whose minimum is not at the truth cannot teach alignment, however long it is trained.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_imputation.py --n-per-class 20 --snr 100 0.1 \\
        --out benchmarks/results/imputation_reward.md
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
from bench_align import simulate

import jimnet
from jimnet.benchmark.protocols import same_class_pairs
from jimnet.evaluate.poses import relative_pose
from jimnet.fourier import common_wedge_mask, tilt_rotation
from jimnet.geometry import random_rotations
from jimnet.losses import alignment_loss, masked_alignment_loss
from jimnet.models.imputation import wedge_imputation
from jimnet.simulate import SimulationConfig
from jimnet.transform import rigid_transform


def losses_at(src: torch.Tensor, tgt: torch.Tensor, rot: torch.Tensor, shift: torch.Tensor,
              tilt: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair (imputed, masked) losses of ``src`` posed by ``(rot, shift)`` against ``tgt``."""
    warped = rigid_transform(src, rot, shift)
    imputed = wedge_imputation(warped, tgt, rot, tilt)
    mask = common_wedge_mask(tuple(src.shape[-3:]), rot, tilt, tilt, dtype=src.dtype)
    return (alignment_loss(imputed, tgt, reduction="none").numpy(),
            masked_alignment_loss(warped, tgt, mask, reduction="none").numpy())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-per-class", type=int, default=20)
    ap.add_argument("--snr", type=float, nargs="+", default=[100.0, 0.1])
    ap.add_argument("--mode", default="fourier", choices=["tiltseries", "fourier"])
    ap.add_argument("--n-random", type=int, default=50, help="random rotations per pair")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in [
        "benchmarks/bench_imputation.py", *(sys.argv[1:] if argv is None else argv)])
    t0 = time.perf_counter()
    config = SimulationConfig(mode=args.mode, seed=args.seed)
    vols, truth = simulate(args.n_per_class, args.snr, config)
    pairs = same_class_pairs(truth.class_numbers, args.n_per_class // 2)
    r_true, t_true = (torch.as_tensor(a) for a in relative_pose(truth.rotations, truth.shifts,
                                                                 pairs))
    tilt = (config.tilt_min, config.tilt_max)
    turn = tilt_rotation(90.0, dtype=torch.float64)
    rng = np.random.default_rng(args.seed)
    rows = []
    for snr in args.snr:
        src = vols[snr][pairs[:, 0]].double()
        tgt = vols[snr][pairs[:, 1]].double()
        at_truth = losses_at(src, tgt, r_true, t_true, tilt)
        turned = losses_at(src, tgt, turn @ r_true, t_true, tilt)
        randoms = [losses_at(src, tgt, torch.as_tensor(random_rotations(len(src), rng)), t_true,
                             tilt) for _ in range(args.n_random)]
        for k, name in enumerate(("imputed", "masked")):
            rand = np.stack([r[k] for r in randoms])  # (n_random, pairs)
            beaten = np.mean(rand.min(axis=0) < at_truth[k])
            rows.append((snr, name, at_truth[k].mean(), rand.mean(), turned[k].mean(), beaten))
    wall = time.perf_counter() - t0
    lines = [
        "# Alignment-loss reward: true pose vs. wrong poses (imputed vs. masked loss)",
        "",
        f"- command: `{command}`",
        f"- {len(pairs)} same-class pairs ({args.n_per_class} particles per class, 5 default "
        f"classes, {args.mode} mode, 32³, ±60° wedge), {args.n_random} random rotations per "
        f"pair; seed {args.seed}",
        f"- jimnet {jimnet.__version__}, torch {torch.__version__}, Python "
        f"{platform.python_version()}, CPU ({os.cpu_count()} logical), wall time {wall:.0f} s",
        "",
        "Mean loss (`1 − r²`, lower is better) at the true relative pose, at uniformly random "
        "rotations, and at the truth followed by a 90° turn about the tilt axis; last column: "
        "fraction of pairs where some random rotation scores better than the truth.",
        "",
        "| SNR | loss | at truth | random rotation | truth + 90° about y | truth beaten |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {snr:g} | {name} | {a:.4f} | {b:.4f} | {c:.4f} | {d:.0%} |"
              for snr, name, a, b, c, d in rows]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
