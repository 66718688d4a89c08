"""Stacked dilated convolution (SDC) blocks, "same" and "valid" (Jim-Net supplement Figs. S4–S5).

Several 3×3×3 convolutions with different dilation rates run in parallel on the same input; their
outputs are concatenated along channels, then ELU, then BatchNorm (conv → ELU → BN, as in the
same group's DISCA network).

* ``padding="same"``: each branch pads by its dilation ``d``, so the edge is unchanged.
* ``padding="valid"``: no padding; branch ``d`` shrinks each edge by ``2d``. Branches with a
  smaller dilation are centre-cropped by ``dmax − d`` voxels at both ends of each axis so all
  branches match; for the default ``{1, 2}`` this is exactly the supplement's "1×1×1 Crop layer that
  crops 1 pixel from the start and end of each dimension" on the ``d = 1`` branch. Each edge
  shrinks by ``2·dmax`` (4 for ``{1, 2}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

#: Keras BatchNormalization defaults expressed in PyTorch terms (momentum 0.99 → 0.01, eps 1e-3).
KERAS_BN_MOMENTUM = 0.01
KERAS_BN_EPS = 1e-3


def crop3d(x: torch.Tensor, margin: int) -> torch.Tensor:
    """Remove ``margin`` voxels from both ends of the last three axes of ``x``."""
    if margin == 0:
        return x
    return x[..., margin:-margin, margin:-margin, margin:-margin]


class SDCBlock(nn.Module):
    """One SDC block: parallel dilated 3×3×3 convs → concat → ELU → BatchNorm.

    Parameters
    ----------
    in_channels : int
        Input channels.
    filters : int
        Output channels per dilation branch; the block outputs ``filters · len(dilations)``.
    dilations : sequence of int
        Dilation rates of the parallel branches (default ``(1, 2)``).
    padding : {"same", "valid"}
        "same" keeps the edge; "valid" shrinks each edge by ``2·max(dilations)`` (with the crop of
        the smaller-dilation branches).
    bn_momentum, bn_eps : float
        BatchNorm settings (PyTorch convention; defaults are Keras's).

    Shapes
    ------
    input (B, in_channels, D, H, W) → output (B, filters·len(dilations), D', H', W') with
    ``D' = D`` ("same") or ``D − 2·max(dilations)`` ("valid").
    """

    def __init__(self, in_channels: int, filters: int, dilations: Sequence[int] = (1, 2),
                 padding: Literal["same", "valid"] = "same", *,
                 bn_momentum: float = KERAS_BN_MOMENTUM, bn_eps: float = KERAS_BN_EPS) -> None:
        super().__init__()
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        dil = tuple(int(d) for d in dilations)
        if not dil or min(dil) < 1:
            raise ValueError(f"dilations must be positive integers, got {dilations}")
        self.dilations = dil
        self.padding = padding
        self.out_channels = filters * len(dil)
        self.shrink = 0 if padding == "same" else 2 * max(dil)
        self.convs = nn.ModuleList(
            nn.Conv3d(in_channels, filters, kernel_size=3, dilation=d,
                      padding=d if padding == "same" else 0)
            for d in dil)
        self.act = nn.ELU()
        self.bn = nn.BatchNorm3d(self.out_channels, momentum=bn_momentum, eps=bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dmax = max(self.dilations)
        outs = []
        for d, conv in zip(self.dilations, self.convs, strict=True):
            y = conv(x)
            if self.padding == "valid":
                y = crop3d(y, dmax - d)
            outs.append(y)
        return self.bn(self.act(torch.cat(outs, dim=1)))

    def output_size(self, size: int) -> int:
        """Edge length of the output for an input edge ``size``."""
        return size - self.shrink
