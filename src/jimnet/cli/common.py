"""Shared CLI helpers: the error-handling wrapper, the rich console and option parsers used by
several commands."""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jimnet.align.params import AlignParams
from jimnet.errors import JimnetInputError
from jimnet.geometry.symmetry import SYMMETRY_HELP, normalise_symmetry

if TYPE_CHECKING:  # jimnet.io is heavy; --help must not import it
    from jimnet.io import ParticleSet

__all__ = [
    "EXIT_INPUT_ERROR",
    "AlignMethod",
    "PosesFrom",
    "SymmetryOption",
    "handle_input_errors",
    "make_params",
    "parse_snrs",
    "parse_symmetry",
    "require_at_least",
    "require_positive",
    "stage_progress",
    "stdout_console",
    "to_working_box",
]

ProgressCallback = Callable[[str, int, int], None]

#: Exit status for bad user input (same as click's usage errors).
EXIT_INPUT_ERROR = 2

P = ParamSpec("P")
R = TypeVar("R")


def handle_input_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a CLI command: :class:`JimnetInputError` → ``error: <message>`` on stderr, exit 2.

    No traceback is printed. Commands must write their outputs through
    :mod:`jimnet.io.atomic` so that nothing partial is left behind when this happens.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except JimnetInputError as exc:
            message = " ".join(str(exc).split())
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(code=EXIT_INPUT_ERROR) from None

    return wrapper


def stdout_console() -> Console:
    """A rich console on the *current* ``sys.stdout`` (created per call, so tests capture it)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


@contextlib.contextmanager
def stage_progress(console: Console, *, quiet: bool = False) -> Iterator[ProgressCallback]:
    """A rich progress display with ETA; yields ``callback(stage, done, total)``.

    Each new ``stage`` name gets its own bar; ``done`` is the number of items completed so far
    in that stage (a stage restarting from a smaller ``done`` resets its bar, e.g. per epoch).
    """
    columns = (TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def callback(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            elif done < bar.tasks[tasks[stage]].completed:
                bar.reset(tasks[stage], total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield callback


def require_at_least(*checks: tuple[str, float, float]) -> None:
    """``(option, value, minimum)`` triples: the first value below its minimum raises a
    one-line error naming only that option."""
    for name, value, low in checks:
        if value < low:
            raise JimnetInputError(f"{name} must be ≥ {low:g}, got {value:g}")


def require_positive(*checks: tuple[str, float]) -> None:
    """``(option, value)`` pairs: the first value ≤ 0 raises a one-line error naming it."""
    for name, value in checks:
        if not value > 0:
            raise JimnetInputError(f"{name} must be > 0, got {value:g}")


def to_working_box(particles: ParticleSet, box: int, console: Console, why: str) -> ParticleSet:
    """``particles`` Fourier-resampled to ``box³`` on read when their box differs, said in one
    line on ``console`` (``why`` names where ``box`` comes from)."""
    if box == particles.box_size:
        return particles
    view = particles.resampled(box)
    how = "Fourier cropping" if box < particles.box_size else "Fourier zero-padding"
    console.print(f"resampling {particles.box_size}³ at {particles.pixel_size:g} Å/voxel → "
                  f"{box}³ at {view.pixel_size:.4g} Å/voxel ({why}; {how} on read)", soft_wrap=True)
    return view


def parse_snrs(values: list[str] | None) -> list[float]:
    """``["0.1", "0.05,0.03"]`` → ``[0.1, 0.05, 0.03]`` (``inf`` allowed); default ``[0.1]``."""
    if not values:
        return [0.1]
    out: list[float] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                snr = float(item)
            except ValueError:
                raise JimnetInputError(f"--snr: not a number: {item!r}") from None
            if math.isnan(snr) or not snr > 0:
                raise JimnetInputError(f"--snr must be > 0 (or inf), got {item}")
            out.append(snr)
    if not out:
        raise JimnetInputError("--snr: no value given")
    if len(set(out)) != len(out):
        raise JimnetInputError(f"--snr values must be distinct, got {out}")
    return out


def parse_classes(value: str | None, n_particles: int, source: object) -> int | str | None:
    """``--classes``: a K in ``1 … n_particles``, ``"auto"`` (chosen by BIC), or ``None``."""
    if value is None or value.strip().lower() == "auto":
        return None if value is None else "auto"
    try:
        k = int(value)
    except ValueError:
        raise JimnetInputError(f"--classes must be a whole number ≥ 1 or 'auto', got {value!r}"
                               ) from None
    if k < 1:
        raise JimnetInputError(f"--classes must be ≥ 1 or 'auto', got {k}")
    if k > n_particles:
        raise JimnetInputError(f"--classes {k} exceeds the {n_particles} particles in {source}")
    return k


#: ``--symmetry`` as every command spells it (validated by :func:`parse_symmetry`).
SymmetryOption = Annotated[str, typer.Option("--symmetry", help=SYMMETRY_HELP)]


def parse_symmetry(value: str) -> str:
    """``--symmetry``: canonical point-group name, or a one-line error naming the option."""
    try:
        return normalise_symmetry(value)
    except ValueError as exc:
        raise JimnetInputError(f"--{exc}") from None


class ClusterMethod(StrEnum):
    """What predict's clusters are computed from (jimnet.predict.CLUSTER_METHODS)."""

    auto = "auto"
    frame = "frame"
    network = "network"
    spectral = "spectral"


class PosesFrom(StrEnum):
    """What predict's poses are computed by (jimnet.predict.ALIGN_METHODS)."""

    classical = "classical"
    hybrid = "hybrid"
    network = "network"


class AlignMethod(StrEnum):
    """Alignment strategies."""

    ht = "ht"
    fa = "fa"
    exhaustive = "exhaustive"


def make_params(
    angular_step: float,
    final_step: float,
    candidates: int,
    max_freq: float,
    max_shift_angst: float | None,
    particle_radius_angst: float | None,
    pixel_size: float,
    symmetry: str = "C1",
) -> AlignParams:
    """AlignParams from CLI units (Å → voxels), with one-line errors."""
    try:
        return AlignParams(
            angular_step=angular_step,
            final_step=final_step,
            n_candidates=candidates,
            max_freq=max_freq,
            max_shift=None if max_shift_angst is None else max_shift_angst / pixel_size,
            particle_radius=(None if particle_radius_angst is None
                             else particle_radius_angst / pixel_size),
            symmetry=symmetry,
        )
    except ValueError as exc:
        raise JimnetInputError(str(exc)) from None
