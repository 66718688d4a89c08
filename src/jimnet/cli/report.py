"""``jimnet report``: (re)write a run's ``report.html`` from its output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jimnet.cli.common import handle_input_errors, stdout_console

__all__ = ["report_command"]


@handle_input_errors
def report_command(
    directory: Annotated[Path, typer.Argument(
        help="Output folder of jimnet predict (or demo's predict/, or jimnet benchmark's --out).",
        show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing report.html.")
                     ] = False,
) -> None:
    """Write DIRECTORY/report.html: one self-contained page (figures embedded, no network
    needed) with, per class, central slices and a max projection of the average, the member
    count, the half-map FSC with its 0.143 and 0.5 resolutions in Å and a few aligned members;
    the embedding coloured by cluster (and by the input's classes when it had them); training
    curves; the run's settings, versions, device and wall time (from run.json).
    """
    from jimnet.report import write_report

    path = write_report(directory, force=force)
    stdout_console().print(f"wrote {path}")
