"""Spectral pooling and filtering with the orthonormal DCT-II (Gum-Net ``SpectralPooling``).

Per channel: orthonormal DCT-II at input size ``N``, keep the lowest ``Y`` coefficients on every
axis (the low-pass filter), zero-pad the coefficient block to ``Z`` and apply the orthonormal
inverse DCT at size ``Z``. The output edge is ``Z`` and is band-limited to ``Y`` coefficients.

The operation is linear and separable, so it is computed as one ``Z × N`` matrix per axis,
``P = IDCT_Z[:, :Y] @ DCT_N[:Y, :]``, applied with ``einsum`` (no FFT).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
from torch import nn


def dct_matrix(n: int, *, dtype: torch.dtype = torch.float64,
               device: torch.device | str | None = None) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``C`` (``n × n``) with ``dct(x, norm="ortho") = C @ x``.

    ``C[k, i] = s_k · cos(π (2i + 1) k / (2n))`` with ``s_0 = sqrt(1/n)``, ``s_k = sqrt(2/n)``.
    Its transpose is the orthonormal inverse (DCT-III).
    """
    i = torch.arange(n, dtype=torch.float64)
    k = i[:, None]
    mat = torch.cos(math.pi * (2.0 * i[None, :] + 1.0) * k / (2.0 * n)) * math.sqrt(2.0 / n)
    mat[0] /= math.sqrt(2.0)
    return mat.to(dtype=dtype, device=device)


def spectral_pool_matrix(n_in: int, n_out: int, truncation: int, *,
                         dtype: torch.dtype = torch.float64,
                         device: torch.device | str | None = None) -> torch.Tensor:
    """The per-axis operator ``P`` (``n_out × n_in``) of spectral pooling.

    ``P = IDCT_{n_out}[:, :Y] @ DCT_{n_in}[:Y, :]`` with ``Y = truncation``.

    Raises
    ------
    ValueError
        If ``truncation`` exceeds ``n_in`` or ``n_out`` or is smaller than 1.
    """
    if not 1 <= truncation <= min(n_in, n_out):
        raise ValueError(
            f"truncation must be in [1, min(n_in, n_out)] = [1, {min(n_in, n_out)}], "
            f"got {truncation}")
    return _pool_matrix_cpu64(n_in, n_out, truncation).to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=256)
def _pool_matrix_cpu64(n_in: int, n_out: int, truncation: int) -> torch.Tensor:
    c_in = dct_matrix(n_in)[:truncation]  # (Y, n_in)
    c_out = dct_matrix(n_out)[:truncation]  # (Y, n_out); its transpose is the restricted IDCT
    return c_out.T @ c_in


def _as_tuple(value: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * ndim
    out = tuple(int(v) for v in value)
    if len(out) != ndim:
        raise ValueError(f"{name} needs {ndim} entries, got {out}")
    return out


_LETTERS = "uvw"


def spectral_pool(x: torch.Tensor, output_size: int | Sequence[int],
                  truncation: int | Sequence[int], *, ndim: int = 3) -> torch.Tensor:
    """Spectral pooling and filtering of the last ``ndim`` axes of ``x``.

    Parameters
    ----------
    x : torch.Tensor, shape (..., N1, ..., Nndim)
        Real feature maps (e.g. (B, C, D, H, W) for ``ndim=3``).
    output_size : int or sequence of int
        Output edge ``Z`` per axis.
    truncation : int or sequence of int
        Number ``Y`` of lowest DCT coefficients kept per axis (``Y ≤ min(N, Z)``).
    ndim : int
        Number of trailing spatial axes (1, 2 or 3).

    Returns
    -------
    torch.Tensor, shape (..., Z1, ..., Zndim)
        Equals ``idctn(pad(dctn(x, norm="ortho")[:Y], Z), norm="ortho")`` on each trailing axis.
    """
    if not 1 <= ndim <= 3:
        raise ValueError(f"ndim must be 1, 2 or 3, got {ndim}")
    out_sizes = _as_tuple(output_size, ndim, "output_size")
    truncs = _as_tuple(truncation, ndim, "truncation")
    in_sizes = x.shape[-ndim:]
    for axis in range(ndim):
        mat = spectral_pool_matrix(in_sizes[axis], out_sizes[axis], truncs[axis],
                                   dtype=x.dtype, device=x.device)
        # Contract spatial axis ``axis`` (counted among the trailing ndim) with P.
        letters = _LETTERS[:ndim]
        src = "..." + letters
        dst = "..." + letters.replace(letters[axis], "z")
        x = torch.einsum(f"z{letters[axis]},{src}->{dst}", mat, x)
    return x


class SpectralPool(nn.Module):
    """Spectral pooling and filtering layer (see :func:`spectral_pool`).

    Parameters
    ----------
    output_size : int or sequence of int
        Output edge ``Z``.
    truncation : int or sequence of int
        Kept DCT coefficients ``Y`` per axis.
    ndim : int
        Spatial dimensionality (3 for volumes).
    homomorphic : bool
        Gum-Net's optional mode: ``log`` before and ``exp`` after. Inputs are clamped to
        ``homomorphic_eps`` before the log, so it is only meaningful for positive maps. Off by
        default, as in Gum-Net.
    """

    def __init__(self, output_size: int | Sequence[int], truncation: int | Sequence[int], *,
                 ndim: int = 3, homomorphic: bool = False, homomorphic_eps: float = 1e-6) -> None:
        super().__init__()
        self.output_size = _as_tuple(output_size, ndim, "output_size")
        self.truncation = _as_tuple(truncation, ndim, "truncation")
        self.ndim = ndim
        self.homomorphic = homomorphic
        self.homomorphic_eps = homomorphic_eps
        for z, y in zip(self.output_size, self.truncation, strict=True):
            if not 1 <= y <= z:
                raise ValueError(f"truncation {y} must be in [1, output size {z}]")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.homomorphic:
            x = torch.log(x.clamp_min(self.homomorphic_eps))
        x = spectral_pool(x, self.output_size, self.truncation, ndim=self.ndim)
        if self.homomorphic:
            x = torch.exp(x)
        return x

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, truncation={self.truncation}, "
                f"homomorphic={self.homomorphic}")
