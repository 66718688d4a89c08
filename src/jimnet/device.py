"""Which torch device a command runs on (``--device auto|cpu|cuda``), and its description for
result files."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from jimnet.errors import JimnetInputError


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; an unknown or unavailable device is a one-line
    :class:`~jimnet.errors.JimnetInputError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise JimnetInputError(f"--device: unknown device {name!r} (cpu, cuda, auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise JimnetInputError("--device cuda requested but CUDA is not available")
    return dev


def device_description(device: torch.device) -> str:
    """``"cuda (NVIDIA H100 …)"`` or ``"cpu (AMD EPYC, 2 cores, 2 torch threads)"``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"cpu ({cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
