"""Test data for the aligners: smooth asymmetric blobs, posed copies, wedge filtering, noise."""

from __future__ import annotations

import numpy as np
import torch

from jimnet.fourier import wedge_mask
from jimnet.transform import rigid_transform


def make_blob(n: int, seed: int = 0, n_gauss: int = 12, sigma: float = 1.0) -> torch.Tensor:
    """Sum of Gaussians at random positions within ``n/4`` of the centre (asymmetric)."""
    g = torch.Generator().manual_seed(seed)
    axes = torch.arange(n, dtype=torch.float32) - n // 2
    z, y, x = torch.meshgrid(axes, axes, axes, indexing="ij")
    vol = torch.zeros(n, n, n)
    centres = (torch.rand(n_gauss, 3, generator=g) - 0.5) * (n / 2.2)
    for i in range(n_gauss):
        s = sigma * (0.7 + 0.8 * float(torch.rand(1, generator=g)))
        w = 0.5 + float(torch.rand(1, generator=g))
        c = centres[i]
        vol += w * torch.exp(-((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) / (2 * s * s))
    return vol


def rotation_about(axis: int, degrees: float) -> torch.Tensor:
    """Rotation (zyx matrix) by ``degrees`` about array axis ``axis``."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = [k for k in range(3) if k != axis]
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return torch.as_tensor(m, dtype=torch.float32)


def wedge_filter(vol: torch.Tensor, tilt: tuple[float, float]) -> torch.Tensor:
    """Apply a missing wedge (tomogram frame) to real volumes (..., N, N, N)."""
    n = vol.shape[-1]
    mask = wedge_mask((n, n, n), *tilt, layout="rfft")
    spec = torch.fft.rfftn(vol, dim=(-3, -2, -1)) * mask
    return torch.fft.irfftn(spec, s=(n, n, n), dim=(-3, -2, -1))


def posed(ref: torch.Tensor, rot: torch.Tensor, shift) -> torch.Tensor:
    """``rigid_transform(ref, rot, shift)``."""
    return rigid_transform(ref, rot, torch.as_tensor(shift, dtype=torch.float32))


def add_noise(vol: torch.Tensor, snr: float, seed: int) -> torch.Tensor:
    """White Gaussian noise with variance ``var(vol) / snr``."""
    g = torch.Generator().manual_seed(seed)
    return vol + torch.randn(vol.shape, generator=g) * (vol.var() / snr).sqrt()
