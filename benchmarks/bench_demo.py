"""Run ``jimnet demo`` once and record its table, settings, machine and wall time.

Usage::

    .venv/bin/python benchmarks/bench_demo.py [demo options, e.g. --n-per-class 100 --epochs 6]

Writes ``benchmarks/results/demo.md``. The demo's own defaults are used for every option not
given; its output directory is a temporary folder.
"""

from __future__ import annotations

import io
import os
import platform
import resource
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import torch

import jimnet
from jimnet.cli.main import app

RESULTS = Path(__file__).parent / "results" / "demo.md"


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["demo", "--out", str(Path(tmp) / "demo"), "--quiet", *argv]
        buf = io.StringIO()
        t0 = time.perf_counter()
        with redirect_stdout(buf):
            try:
                app(args, standalone_mode=False)
            except SystemExit as exc:  # typer.Exit
                if exc.code:
                    raise
        wall = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    text = buf.getvalue()
    sys.stdout.write(text)
    lines = [
        "# `jimnet demo` (the README's `make demo`)",
        "",
        f"- command: `python benchmarks/bench_demo.py {' '.join(argv)}`".rstrip() + " "
        f"(= `jimnet {' '.join(args[:1] + args[3:])}`)",
        f"- jimnet {jimnet.__version__}, torch {torch.__version__}, Python "
        f"{platform.python_version()}; device: "
        f"{'cuda' if torch.cuda.is_available() else 'cpu'}; {os.cpu_count()} logical CPUs; "
        f"torch threads {torch.get_num_threads()}",
        f"- wall time {wall:.0f} s; peak resident memory {peak_gb:.2f} GB; load average at the end "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}",
        "",
        "```",
        text.rstrip(),
        "```",
        "",
    ]
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
