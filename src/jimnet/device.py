"""Which torch device a command runs on (``--device auto|cpu|cuda``)."""

from __future__ import annotations

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
