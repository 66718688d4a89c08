"""What a run records about itself for its report: ``run.json`` (command, settings, versions,
device, wall time, scores)."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

import jimnet
from jimnet.device import device_description

RUN_INFO_NAME = "run.json"


def run_info(command: str, settings: Mapping[str, Any], *, device: torch.device,
             started: datetime, processes: int = 1, **extra: Any) -> dict[str, Any]:
    """The record a command stores beside its outputs (``run.json``).

    Parameters
    ----------
    command : str
        The command's name, e.g. ``"jimnet predict"``.
    settings : mapping
        Every option and argument the command ran with (paths as strings).
    device : torch.device
        Where it computed.
    started : datetime
        When it started (timezone-aware); the wall time is measured from it to now.
    processes : int
        Processes of a ``torchrun`` launch (1 otherwise).
    **extra
        Anything else to record (e.g. ``scores``, ``training`` configuration).
    """
    return {
        "command": command,
        "settings": {k: _plain(v) for k, v in settings.items()},
        "started_utc": started.astimezone(UTC).isoformat(timespec="seconds"),
        "wall_time_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "device": device_description(device),
        "processes": processes,
        "versions": {"jimnet": jimnet.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version(),
                     "platform": platform.platform()},
        **{k: _plain(v) for k, v in extra.items()},
    }


def _plain(value: Any) -> Any:
    """JSON-safe: paths and other objects as strings, non-finite floats as None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, np.integer):
        return int(value)
    return str(value)


def write_run_info(directory: Path, info: Mapping[str, Any]) -> Path:
    """``directory/run.json`` (plain write: callers write into an atomic folder)."""
    path = directory / RUN_INFO_NAME
    path.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_run_info(directory: Path) -> dict[str, Any] | None:
    """``directory/run.json``, or None when absent."""
    path = directory / RUN_INFO_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
