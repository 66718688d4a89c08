"""Save/load models with their configuration inside the checkpoint.

A checkpoint is a ``torch.save`` dict of plain types (loadable with ``weights_only=True``)::

    {"format": "jimnet-model", "format_version": 1, "model": "JimNet3D",
     "config": {...}, "state_dict": {...}, "extra": {...}}

so the model file alone is enough to rebuild the network (:func:`load_model`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jimnet.models.cnn3d import CNN3D, CNN3DConfig
from jimnet.models.gumnet import GumNet, GumNetConfig
from jimnet.models.jimnet2d import JimNet2D, JimNet2DConfig
from jimnet.models.jimnet3d import JimNet3D, JimNet3DConfig

FORMAT = "jimnet-model"
FORMAT_VERSION = 1

#: Model class name → (class, config class).
MODEL_REGISTRY: dict[str, tuple[type[nn.Module], type]] = {
    "GumNet": (GumNet, GumNetConfig),
    "JimNet3D": (JimNet3D, JimNet3DConfig),
    "CNN3D": (CNN3D, CNN3DConfig),
    "JimNet2D": (JimNet2D, JimNet2DConfig),
}


def register_model(name: str, cls: type[nn.Module], config_cls: type) -> None:
    """Make another model (with a ``config`` dataclass having ``to_dict``/``from_dict``)
    savable/loadable by name."""
    MODEL_REGISTRY[name] = (cls, config_cls)


def _name_of(model: nn.Module) -> str:
    for name, (cls, _) in MODEL_REGISTRY.items():
        if type(model) is cls:
            return name
    raise TypeError(f"{type(model).__name__} is not a registered model")


def model_to_checkpoint(model: nn.Module, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checkpoint dict of ``model`` (state on CPU)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": _name_of(model),
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": dict(extra or {}),
    }


def model_from_checkpoint(ckpt: dict[str, Any], *, strict: bool = True) -> nn.Module:
    """Rebuild the model described by a checkpoint dict and load its weights."""
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"not a jimnet model checkpoint (format={ckpt.get('format')!r})")
    if ckpt.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"checkpoint format version {ckpt['format_version']} is newer than "
                         f"this jimnet ({FORMAT_VERSION})")
    name = ckpt["model"]
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODEL_REGISTRY)}")
    cls, config_cls = MODEL_REGISTRY[name]
    model = cls(config_cls.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"], strict=strict)
    return model


def save_model(model: nn.Module, path: str | os.PathLike, *,
               extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (weights + configuration + optional ``extra`` plain data) atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(model_to_checkpoint(model, extra), tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Read a checkpoint dict (``weights_only=True``: no code is executed)."""
    return torch.load(Path(path), map_location=map_location, weights_only=True)


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu", *,
               strict: bool = True) -> nn.Module:
    """Rebuild a model from a file written by :func:`save_model` (in eval mode is up to the
    caller; the model is returned in training mode, as constructed)."""
    return model_from_checkpoint(load_checkpoint(path, map_location), strict=strict)
