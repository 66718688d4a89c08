"""Where do trained Gum-Net / Jim-Net models move the source? (a check for degenerate poses)

Loads ``RUNS/<model>/snr_<x>/model.pt`` written by ``jimnet benchmark`` and runs the model on
pairs of the dataset it was trained on (consecutive halves of the first ``2 × --pairs``
particles). Reported per model: mean |predicted shift| per axis (voxels; the parameterisation
allows ±N/2), and the fraction of the source's energy still inside the box after the predicted
warp. A model that pushes the source out of the box makes its imputed output a copy of the
target's own Fourier coefficients, which lowers the imputed ``1 − r²`` without aligning anything.

Usage (after ``jimnet benchmark --scale cpu --out benchmarks/results/paper_tables_cpu
--data /tmp/exp/bench_data --seed 0 --device cpu``)::

    .venv/bin/python benchmarks/bench_network_shifts.py \\
        --runs benchmarks/results/paper_tables_cpu/runs --data /tmp/exp/bench_data --snr 100 \\
        --out benchmarks/results/network_shifts.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from jimnet.io import ParticleSet
from jimnet.models import load_model
from jimnet.models.checkpoint import load_checkpoint
from jimnet.predict import model_normalisation
from jimnet.transform import rigid_transform


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--snr", default="100")
    ap.add_argument("--models", nargs="+", default=["gumnet", "jimnet"])
    ap.add_argument("--pairs", type=int, default=32)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in [
        "benchmarks/bench_network_shifts.py", *(sys.argv[1:] if argv is None else argv)])
    ps = ParticleSet.from_star(args.data / f"snr_{args.snr}" / "particles.star")
    idx = np.arange(2 * args.pairs)
    lines = ["# Predicted shifts of trained networks (degenerate-pose check)", "",
             f"- command: `{command}`",
             f"- {args.pairs} pairs from {args.data}/snr_{args.snr} (box {ps.box_size}³, shifts "
             f"allowed up to ±{ps.box_size // 2} voxels per axis)", "",
             "| model | mean abs(shift) z, y, x (voxels) | max abs(shift) | source energy left in "
             "the box (median) |", "|---|---|---|---|"]
    for name in args.models:
        path = args.runs / name / f"snr_{args.snr}" / "model.pt"
        model = load_model(path).eval()
        norm = model_normalisation(load_checkpoint(path).get("extra", {}), ps)
        src = norm.apply(ps.get_batch(idx[:args.pairs].tolist()))
        tgt = norm.apply(ps.get_batch(idx[args.pairs:].tolist()))
        with torch.no_grad():
            rot, shift = model(src, tgt).pose_numpy()
            warped = rigid_transform(src.double(), torch.as_tensor(rot), torch.as_tensor(shift))
        kept = (warped.pow(2).sum((1, 2, 3)) / src.double().pow(2).sum((1, 2, 3))).numpy()
        mean = ", ".join(f"{v:.1f}" for v in np.abs(shift).mean(0))
        lines.append(f"| {name} | {mean} | {np.abs(shift).max():.1f} | {np.median(kept):.2f} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
