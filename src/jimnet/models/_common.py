"""Small helpers shared by the 3D models (width scaling, Keras-style init, conv units)."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

import torch
from torch import nn

from jimnet.models.heads import RigidParamHead
from jimnet.models.imputation import ImputationMode, TiltRange, wedge_imputation


def scaled(channels: int, width: float) -> int:
    """``max(1, round(channels · width))`` — the width multiplier of every layer size."""
    return max(1, math.floor(channels * width + 0.5))


def round_half_up(x: float) -> int:
    """Deterministic rounding (no banker's rounding) for layer sizes."""
    return math.floor(x + 0.5)


def keras_init_(module: nn.Module) -> None:
    """Glorot-uniform kernels and zero biases for every Conv/Linear (Keras defaults), then
    re-apply the special initialisation of the pose heads."""
    for m in module.modules():
        if isinstance(m, nn.Conv3d | nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, RigidParamHead):
            m.reset_parameters()


def conv_bn_relu(in_ch: int, out_ch: int, *, bn_momentum: float, bn_eps: float,
                 kernel_size: int = 3) -> nn.Sequential:
    """Conv3d (valid) → BatchNorm → ReLU (Gum-Net regressor order)."""
    return nn.Sequential(nn.Conv3d(in_ch, out_ch, kernel_size),
                         nn.BatchNorm3d(out_ch, momentum=bn_momentum, eps=bn_eps),
                         nn.ReLU())


def as_volumes(x: torch.Tensor, name: str) -> torch.Tensor:
    """Accept (B, D, H, W) or (B, 1, D, H, W); return (B, D, H, W)."""
    if x.ndim == 5 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 4:
        return x
    raise ValueError(f"{name} must be (B, D, H, W) or (B, 1, D, H, W), got {tuple(x.shape)}")


def check_input(source: torch.Tensor, target: torch.Tensor, size: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Both inputs as (B, N, N, N) with the model's edge ``size``; raise ValueError otherwise."""
    s = as_volumes(source, "source")
    t = as_volumes(target, "target")
    if s.shape != t.shape:
        raise ValueError(f"source {tuple(s.shape)} and target {tuple(t.shape)} differ")
    if tuple(s.shape[-3:]) != (size,) * 3:
        raise ValueError(f"the model was built for {size}³ inputs, got {tuple(s.shape[-3:])}")
    return s, t


def maybe_impute(warped: torch.Tensor, target: torch.Tensor, rotation: torch.Tensor,
                 source_tilt: TiltRange | None, target_tilt: TiltRange | None,
                 mode: ImputationMode, sphere: bool) -> torch.Tensor:
    """Imputation when a source tilt range is given (and ``mode != "none"``), else ``warped``."""
    if source_tilt is None or mode == "none":
        return warped
    return wedge_imputation(warped, target, rotation, source_tilt, target_tilt=target_tilt,
                            mode=mode, sphere=sphere)


def _coerce(value: Any, annotation: Any) -> Any:
    """Lists (from serialised configs) back to tuples where the field is a tuple."""
    origin = typing.get_origin(annotation)
    if isinstance(value, list) and origin is tuple:
        args = typing.get_args(annotation)
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner) for v in value)
    return value


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build config dataclass ``cls`` from a plain dict, rejecting unknown keys."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    hints = typing.get_type_hints(cls)
    return cls(**{k: _coerce(v, hints[k]) for k, v in data.items()})
