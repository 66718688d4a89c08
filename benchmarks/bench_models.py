"""Parameter counts and forward/backward time per pair of GumNet and JimNet3D at several widths.

Usage::

    .venv/bin/python benchmarks/bench_models.py [--widths 1.0 0.5 0.25] [--batch 4]
        [--repeats 3] [--threads N] [--device cpu|cuda] [--out benchmarks/results/models_speed.md]

Times are wall-clock medians over ``--repeats`` timed iterations after one warm-up iteration, for a
batch of ``--batch`` random 32³ pairs with ±60° imputation, in training mode; "fwd+bwd" is one
forward, the alignment loss and one backward. Per-pair time = batch time / batch size. The
markdown table (with command, device, torch version and thread count) is written to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from jimnet.losses import alignment_loss
from jimnet.models import GumNet, JimNet3D


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(model_cls, width: float, *, batch: int, repeats: int, device: torch.device
          ) -> dict[str, float]:
    torch.manual_seed(0)
    model = model_cls(width=width).to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    s = torch.randn(batch, 32, 32, 32, device=device)
    t = torch.randn(batch, 32, 32, 32, device=device)

    def forward():
        return model(s, t, source_tilt=(-60.0, 60.0))

    def step():
        out = forward()
        loss = alignment_loss(out.output, t)
        if out.coarse_output is not None:
            loss = loss + alignment_loss(out.coarse_output, t)
        model.zero_grad(set_to_none=True)
        loss.backward()

    fwd, full = [], []
    with torch.no_grad():
        forward()  # warm-up
    step()
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        with torch.no_grad():
            forward()
        _sync(device)
        t1 = time.perf_counter()
        step()
        _sync(device)
        t2 = time.perf_counter()
        fwd.append(t1 - t0)
        full.append(t2 - t1)
    return {"params": n_params, "fwd": statistics.median(fwd) / batch,
            "full": statistics.median(full) / batch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.5, 0.25])
    parser.add_argument("--models", nargs="+", default=["GumNet", "JimNet3D"],
                        choices=["GumNet", "JimNet3D"])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/models_speed.md"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    classes = {"GumNet": GumNet, "JimNet3D": JimNet3D}

    if device.type == "cuda":
        dev_name = torch.cuda.get_device_name(device)
    else:
        dev_name = f"CPU ({platform.processor() or platform.machine()})"
    rows = []
    for name in args.models:
        for width in args.widths:
            r = bench(classes[name], width, batch=args.batch, repeats=args.repeats,
                      device=device)
            row = (f"| {name} | {width:g} | {r['params'] / 1e6:.2f} M | "
                   f"{1e3 * r['fwd']:.1f} | {1e3 * r['full']:.1f} |")
            print(row, flush=True)
            rows.append(row)

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    text = "\n".join([
        "# Model size and speed (benchmarks/bench_models.py)",
        "",
        f"- command: `{command}`",
        f"- device: {dev_name}; torch {torch.__version__}; "
        f"intra-op threads: {torch.get_num_threads()}; python {platform.python_version()}; "
        f"{os.cpu_count()} logical CPUs; load average at the end (1/5/15 min): {load}",
        f"- input: batch of {args.batch} random 32³ pairs, ±60° wedge imputation, training mode "
        f"(BatchNorm on batch statistics); median of {args.repeats} timed iterations after "
        "one warm-up",
        "- times are per pair (batch time / batch size), milliseconds; fwd+bwd = forward + "
        "alignment loss (+ coarse-output loss for JimNet3D) + backward",
        "",
        "| model | width | parameters | forward ms/pair | fwd+bwd ms/pair |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
