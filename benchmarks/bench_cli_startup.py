"""Start-up time and memory of ``jimnet --help`` and ``jimnet <command> --help`` (CPU).

Each command line runs ``--repeats`` times in a fresh process under ``/usr/bin/time``; the table
gives the median wall time and the median peak resident memory, beside ``python -c pass`` (the
interpreter alone) measured in the same run. ``--before`` adds a column for another installed
``jimnet`` executable (e.g. the main branch's, to show the change).

Usage (from the repository root)::

    nice -n 5 .venv/bin/python benchmarks/bench_cli_startup.py \\
        --before /work/main/.venv/bin/jimnet --out benchmarks/results/cli_startup.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = ("", "info", "align", "average", "benchmark", "demo", "eval2d", "predict", "refine",
            "report", "simulate", "train", "train2d")


def measure(args: list[str], repeats: int) -> tuple[float, float]:
    """Median wall time (s) and median peak RSS (MB) of ``args``."""
    walls, rss = [], []
    for _ in range(repeats):
        with tempfile.NamedTemporaryFile("r") as log:
            t0 = time.perf_counter()
            subprocess.run(["/usr/bin/time", "-o", log.name, "-f", "%M", *args], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
            rss.append(float(log.read().strip().splitlines()[-1]) / 1024.0)
    return statistics.median(walls), statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", help="another jimnet executable to compare with")
    parser.add_argument("--before-commands", default=",align,train",
                        help="commands measured with --before too (comma-separated; '' = "
                        "jimnet --help); the old start-up is slow, so only a few")
    args = parser.parse_args()
    here = str(Path(sys.executable).with_name("jimnet"))
    load = os.getloadavg()
    t0 = time.perf_counter()
    bare = measure([sys.executable, "-c", "pass"], args.repeats)
    rows = []
    for cmd in COMMANDS:
        line = [*([cmd] if cmd else []), "--help"]
        now = measure([here, *line], args.repeats)
        before = (measure([args.before, *line], args.repeats)
                  if args.before and cmd in args.before_commands.split(",") else None)
        rows.append((" ".join(["jimnet", *line]), now, before))
        print(rows[-1], flush=True)
    wall = time.perf_counter() - t0
    head = "| command | wall (s) | peak RSS (MB) |"
    sep = "|---|---|---|"
    if args.before:
        head += " before: wall (s) | before: peak RSS (MB) |"
        sep += "---|---|"
    lines = [
        "# CLI start-up (`--help`)",
        "",
        f"Command: `{shlex.join(['python', *sys.argv])}`",
        "",
        f"Median of {args.repeats} fresh processes per line; peak RSS from `/usr/bin/time -f %M`. "
        f"Device: CPU ({platform.machine()}, {os.cpu_count()} cores, shared with other "
        f"agents' jobs; load average at start {load[0]:.2f}, at end "
        f"{os.getloadavg()[0]:.2f}); total wall time {wall:.0f} s; Python "
        f"{platform.python_version()}."
        + (f" 'before' = `{args.before}` (the main branch's install)." if args.before else ""),
        "",
        f"Interpreter alone (`python -c pass`): {bare[0]:.3f} s, {bare[1]:.0f} MB.",
        "",
        head,
        sep,
    ]
    for name, (w, m), before in rows:
        cells = f"| `{name}` | {w:.2f} | {m:.0f} |"
        if args.before:
            cells += (" – | – |" if before is None else f" {before[0]:.2f} | {before[1]:.0f} |")
        lines.append(cells)
    lines.append("")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
