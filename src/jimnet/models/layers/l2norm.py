"""Per-position L2 normalisation over the channel axis (Gum-Net ``FeatureL2Norm``)."""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-6


def feature_l2_norm(x: torch.Tensor, dim: int = 1, eps: float = EPS) -> torch.Tensor:
    """``x / sqrt(Σ_c x_c² + eps)`` over ``dim`` at every position.

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, *spatial)
        Feature maps.
    dim : int
        Channel axis (default 1).
    eps : float
        Added inside the square root (Gum-Net and WeakAlign use 1e-6).

    Returns
    -------
    torch.Tensor
        Same shape as ``x``; every position has (nearly) unit norm over ``dim``.
    """
    return x / torch.sqrt(torch.sum(x * x, dim=dim, keepdim=True) + eps)


class FeatureL2Norm(nn.Module):
    """Module form of :func:`feature_l2_norm` (channel axis 1)."""

    def __init__(self, eps: float = EPS) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return feature_l2_norm(x, dim=1, eps=self.eps)
