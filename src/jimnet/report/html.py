"""Render ``report.html``: one self-contained page (figures embedded as PNG data URIs)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

import jimnet
from jimnet.errors import JimnetInputError
from jimnet.io import atomic_write_text
from jimnet.report.run_info import write_run_info
from jimnet.report.sections import ReportContent, read_report_content

REPORT_NAME = "report.html"


def render_report(content: ReportContent) -> str:
    """The HTML text of ``content`` (Jinja2 template ``templates/report.html.j2``)."""
    env = Environment(loader=PackageLoader("jimnet.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        c=content, version=jimnet.__version__,
        generated=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", " UTC"))


def write_report(directory: str | Path, *, run_info: Mapping[str, Any] | None = None,
                 force: bool = False) -> Path:
    """Write ``directory/report.html`` from what the output folder holds.

    Parameters
    ----------
    directory : path-like
        A command's output folder: class maps ``class_NNN.mrc`` (+ ``_half1/_half2``),
        ``particles.star``, ``embedding.csv``, ``metrics.jsonl``, ``run.json`` and/or a
        benchmark's ``results.json``, tables and plots (each section appears when its files do).
    run_info : mapping, optional
        The run's record (:func:`jimnet.report.run_info`); stored as ``directory/run.json`` so
        that ``jimnet report DIR`` later renders the same page.
    force : bool
        Replace an existing ``report.html``.

    Returns
    -------
    pathlib.Path
        The report's path.

    Raises
    ------
    JimnetInputError
        ``directory`` is missing or holds nothing to report; ``report.html`` exists without
        ``force``.
    """
    d = Path(directory)
    if not d.is_dir():
        raise JimnetInputError(f"not a directory: {d}")
    target = d / REPORT_NAME
    if target.exists() and not force:
        raise JimnetInputError(f"output already exists: {target} (use --force to overwrite)")
    content = read_report_content(d, run_info)
    if content.empty:
        raise JimnetInputError(f"{d}: nothing to report (no class_NNN.mrc, embedding.csv, "
                               f"metrics.jsonl or benchmark results.json)")
    html = render_report(content)
    if run_info is not None:
        write_run_info(d, run_info)
    return atomic_write_text(target, html, force=force)
