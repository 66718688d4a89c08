"""Feature correlation layers: global C^(G) (Rocco et al. 2017, Gum-Net) and local C^(L).

Conventions (fixed here; anything built on a correlation tensor, e.g. the soft-inlier identity mask
in :mod:`jimnet.losses`, must use them):

* **Global**: ``C[b, p, *q] = ⟨F_a[b, :, p], F_b[b, :, q]⟩``. The output's *channels* index the
  positions ``p`` of ``F_a`` flattened in row-major (C) order; its *spatial* axes are the grid of
  ``F_b``. Works for any number of spatial dimensions (2D or 3D).
* **Local** (radius ``r``): ``C[b, j, *p] = ⟨F_a[b, :, p], F_b[b, :, p + d_j]⟩`` for the
  displacements ``d_j ∈ {−r, …, r}^n`` enumerated in row-major order (last axis fastest); positions
  outside ``F_b`` count as zero vectors. ``(2r + 1)^n`` channels (27 in 3D for ``r = 1``).

Normalisation after correlation (``normalization``): ``"l2"`` (Gum-Net: L2 over channels, no
ReLU), ``"relu_l2"`` (Rocco/WeakAlign/Jim-Net 2D: ReLU then L2) or ``"none"``.
"""

from __future__ import annotations

import itertools
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from jimnet.models.layers.l2norm import feature_l2_norm

Normalization = Literal["l2", "relu_l2", "none"]


def _normalise(c: torch.Tensor, normalization: Normalization) -> torch.Tensor:
    if normalization == "none":
        return c
    if normalization == "relu_l2":
        c = F.relu(c)
    elif normalization != "l2":
        raise ValueError(f"normalization must be 'l2', 'relu_l2' or 'none', got {normalization!r}")
    return feature_l2_norm(c, dim=1)


def global_correlation(fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """All-pairs feature correlation.

    Parameters
    ----------
    fa, fb : torch.Tensor, shape (B, C, *spatial_a) and (B, C, *spatial_b)
        Feature maps (usually L2-normalised per position).

    Returns
    -------
    torch.Tensor, shape (B, prod(spatial_a), *spatial_b)
        ``C[b, p, q] = Σ_c fa[b, c, p] · fb[b, c, q]`` with ``p`` flattened row-major.
    """
    if fa.shape[:2] != fb.shape[:2]:
        raise ValueError(f"batch/channels differ: {tuple(fa.shape)} vs {tuple(fb.shape)}")
    a = fa.flatten(2)  # (B, C, P)
    b = fb.flatten(2)  # (B, C, Q)
    corr = torch.einsum("bcp,bcq->bpq", a, b)
    return corr.reshape(fa.shape[0], a.shape[-1], *fb.shape[2:])


def local_displacements(radius: int, ndim: int) -> list[tuple[int, ...]]:
    """The displacement of each local-correlation channel, row-major over ``{−r … r}^ndim``."""
    return list(itertools.product(range(-radius, radius + 1), repeat=ndim))


def local_correlation(fa: torch.Tensor, fb: torch.Tensor, radius: int = 1) -> torch.Tensor:
    """Correlation with the neighbours within ``radius`` (per axis), zero outside ``fb``.

    Parameters
    ----------
    fa, fb : torch.Tensor, shape (B, C, *spatial)
        Feature maps on the same grid (2D or 3D).
    radius : int
        Neighbourhood half-width (1 → 27 channels in 3D, 9 in 2D).

    Returns
    -------
    torch.Tensor, shape (B, (2·radius + 1)^ndim, *spatial)
        Channel ``j`` holds ``⟨fa(p), fb(p + d_j)⟩`` with ``d_j`` from :func:`local_displacements`.
    """
    if fa.shape != fb.shape:
        raise ValueError(f"shapes differ: {tuple(fa.shape)} vs {tuple(fb.shape)}")
    ndim = fa.ndim - 2
    spatial = fa.shape[2:]
    padded = F.pad(fb, (radius, radius) * ndim)
    outs = []
    for d in local_displacements(radius, ndim):
        idx = tuple(slice(radius + dk, radius + dk + n) for dk, n in zip(d, spatial, strict=True))
        outs.append(torch.sum(fa * padded[(slice(None), slice(None), *idx)], dim=1))
    return torch.stack(outs, dim=1)


class GlobalCorrelation(nn.Module):
    """:func:`global_correlation` followed by the chosen channel normalisation."""

    def __init__(self, normalization: Normalization = "l2") -> None:
        super().__init__()
        _normalise(torch.zeros(1, 1, 1), normalization)  # validate early
        self.normalization = normalization

    def forward(self, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
        return _normalise(global_correlation(fa, fb), self.normalization)

    def extra_repr(self) -> str:
        return f"normalization={self.normalization!r}"


class LocalCorrelation(nn.Module):
    """:func:`local_correlation` followed by the chosen channel normalisation."""

    def __init__(self, radius: int = 1, normalization: Normalization = "relu_l2") -> None:
        super().__init__()
        _normalise(torch.zeros(1, 1, 1), normalization)
        self.radius = radius
        self.normalization = normalization

    def forward(self, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
        return _normalise(local_correlation(fa, fb, self.radius), self.normalization)

    def extra_repr(self) -> str:
        return f"radius={self.radius}, normalization={self.normalization!r}"
