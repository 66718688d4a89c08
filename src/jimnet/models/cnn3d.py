"""A small 3D CNN classifier: the backbone of the DeepCluster-3D and PICA-3D baselines.

Architecture (channels before ``width``; 32³ input)::

    [Conv3D k3 pad 1 (stride s_i) → BN → ReLU] × 5      32³ → 32³ → 16³ → 8³ → 4³ → 2³
    global average pooling                              → features (B, F), F = channels[-1]·width
    cluster_head: Linear(F, K)                          → logits (B, K)

Global pooling makes the network independent of the box size (any edge ≥ 1 works; ``input_size``
is recorded for the checkpoint). Arrays are ``(B, D, H, W)`` (zyx) or ``(B, 1, D, H, W)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from jimnet.models._common import as_volumes, config_from_dict, scaled


@dataclass
class CNN3DConfig:
    """Hyper-parameters of :class:`CNN3D`.

    Attributes
    ----------
    width : float
        Channel multiplier (1.0 = ``channels`` as given).
    n_clusters : int
        K, the size of the classifier head.
    input_size : int
        Edge of the cubic input the model was built for (informational: global pooling accepts
        any size).
    channels : tuple of int
        Output channels of the conv blocks (before ``width``).
    strides : tuple of int
        Stride of each block's conv (same length as ``channels``).
    bn_momentum, bn_eps : float
        BatchNorm settings (PyTorch defaults).
    """

    width: float = 1.0
    n_clusters: int = 5
    input_size: int = 32
    channels: tuple[int, ...] = (32, 64, 128, 256, 256)
    strides: tuple[int, ...] = (1, 2, 2, 2, 2)
    bn_momentum: float = 0.1
    bn_eps: float = 1e-5

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CNN3DConfig:
        return config_from_dict(cls, data)


class CNN3D(nn.Module):
    """Conv blocks + global average pooling (``encoder``) and a linear ``cluster_head``.

    ``CNN3D(config)`` or ``CNN3D(width=..., n_clusters=..., ...)`` (keywords of
    :class:`CNN3DConfig`).
    """

    def __init__(self, config: CNN3DConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        if config is None:
            config = CNN3DConfig(**kwargs)
        elif kwargs:
            raise TypeError("pass either a CNN3DConfig or keyword arguments, not both")
        if len(config.channels) != len(config.strides) or not config.channels:
            raise ValueError("channels and strides must be non-empty and of equal length")
        if config.n_clusters < 1:
            raise ValueError(f"n_clusters must be ≥ 1, got {config.n_clusters}")
        self.config = config
        blocks: list[nn.Module] = []
        in_ch = 1
        for c, s in zip(config.channels, config.strides, strict=True):
            out_ch = scaled(c, config.width)
            blocks.append(nn.Sequential(
                nn.Conv3d(in_ch, out_ch, 3, stride=s, padding=1, bias=False),
                nn.BatchNorm3d(out_ch, momentum=config.bn_momentum, eps=config.bn_eps),
                nn.ReLU()))
            in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.feature_dim = in_ch
        self.cluster_head = nn.Linear(in_ch, config.n_clusters)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled encoder features.

        Parameters
        ----------
        x : torch.Tensor, shape (B, D, H, W) or (B, 1, D, H, W)

        Returns
        -------
        torch.Tensor, shape (B, feature_dim)
        """
        v = as_volumes(x, "x")[:, None]
        return self.blocks(v).mean(dim=(2, 3, 4))

    def classify(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (B, K), features (B, feature_dim))`` — same contract as
        :meth:`jimnet.models.JimNet3D.classify`."""
        f = self.features(x)
        return self.cluster_head(f), f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster logits, shape (B, K)."""
        return self.cluster_head(self.features(x))
