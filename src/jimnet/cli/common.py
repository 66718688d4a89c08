"""Shared CLI helpers: the error-handling wrapper and the rich console."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from jimnet.errors import JimnetInputError

__all__ = ["EXIT_INPUT_ERROR", "handle_input_errors", "stdout_console"]

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
