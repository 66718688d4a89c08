"""Atomic, no-clobber output: write to a temporary sibling, then ``os.replace`` it into place.

Every jimnet output goes through :func:`atomic_write` (single files) or :func:`atomic_output_dir`
(whole directories), so a failed run never leaves a partial file at the requested path, and an
existing output is only replaced when the caller passes ``force=True``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from jimnet.errors import JimnetInputError

__all__ = [
    "atomic_output_dir",
    "atomic_write",
    "atomic_write_text",
    "check_all_can_write",
    "check_can_write",
]


def check_can_write(path: str | os.PathLike, force: bool = False) -> Path:
    """Refuse to overwrite an existing output unless ``force``.

    Parameters
    ----------
    path : path-like
        Requested output path.
    force : bool
        Allow replacing an existing file or directory.

    Returns
    -------
    pathlib.Path
        The absolute output path.

    Raises
    ------
    JimnetInputError
        If ``path`` exists and ``force`` is false.
    """
    target = Path(path).expanduser().absolute()
    if target.exists() and not force:
        raise JimnetInputError(f"output already exists: {target} (use --force to overwrite)")
    return target


def check_all_can_write(paths: Iterable[str | os.PathLike], force: bool = False) -> list[Path]:
    """:func:`check_can_write` for several outputs at once (check them all before writing any)."""
    return [check_can_write(p, force) for p in paths]


def _temp_sibling(target: Path, kind: str) -> Path:
    # Keep the suffixes (``.mrc.gz``, ``.star``) so format detection by extension still works.
    suffixes = "".join(target.suffixes)
    return target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.{kind}{suffixes}"


@contextmanager
def atomic_write(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Context manager yielding a temporary path to write; it replaces ``path`` on success.

    The temporary file is in the same directory as ``path`` (so ``os.replace`` is atomic) and is
    *not* created beforehand: the writer creates it (normal permissions). On any exception the
    temporary file is removed and ``path`` is left untouched. Parent directories are created.

    Parameters
    ----------
    path : path-like
        Final output path.
    force : bool
        Replace an existing ``path``; otherwise raise :class:`~jimnet.errors.JimnetInputError`.

    Yields
    ------
    pathlib.Path
        Where to write the content.
    """
    target = check_can_write(path, force)
    if target.is_dir():
        raise JimnetInputError(f"output is an existing directory, expected a file: {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(target, "tmp")
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"atomic_write: nothing was written to {tmp}")
        if target.exists() and not force:  # appeared while we were writing
            raise JimnetInputError(f"output already exists: {target} (use --force to overwrite)")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str, *, force: bool = False) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``; see :func:`atomic_write`."""
    with atomic_write(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path).expanduser().absolute()


@contextmanager
def atomic_output_dir(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Context manager yielding a temporary directory that becomes ``path`` on success.

    Write all files of a multi-file output into the yielded directory. On success it is renamed
    to ``path`` (an existing ``path`` is replaced only with ``force``; the old one is moved aside
    first and deleted after the rename). On any exception the temporary directory is deleted and
    ``path`` is left untouched.

    Parameters
    ----------
    path : path-like
        Final output directory.
    force : bool
        Replace an existing ``path``.

    Yields
    ------
    pathlib.Path
        The temporary directory (a sibling of ``path``).
    """
    target = check_can_write(path, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(target, "tmpdir")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    backup = None
    if target.exists() or target.is_symlink():
        if not force:
            shutil.rmtree(tmp, ignore_errors=True)
            raise JimnetInputError(f"output already exists: {target} (use --force to overwrite)")
        backup = _temp_sibling(target, "old")
        os.replace(target, backup)
    try:
        os.replace(tmp, target)
    except BaseException:
        if backup is not None:
            os.replace(backup, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if backup is not None:
        if backup.is_dir() and not backup.is_symlink():
            shutil.rmtree(backup, ignore_errors=True)
        else:
            backup.unlink(missing_ok=True)
