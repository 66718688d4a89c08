"""Streaming access to a particle set for training and inference (memory flat in N)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from jimnet.io import ParticleSet


@dataclass(frozen=True)
class Normalisation:
    """Global standardisation ``(x − mean) / std`` of a whole set (Gum-Net's demo)."""

    mean: float
    std: float

    def apply(self, volumes: torch.Tensor) -> torch.Tensor:
        return (volumes - self.mean) / self.std


def global_normalisation(particles: ParticleSet, batch_size: int = 64) -> Normalisation:
    """Mean and std over all voxels of all particles, accumulated in float64 in index order."""
    total, total_sq, count = 0.0, 0.0, 0
    for batch in iterate_batches(particles, range(len(particles)), batch_size):
        b = batch.double()
        total += float(b.sum())
        total_sq += float((b * b).sum())
        count += b.numel()
    mean = total / count
    var = max(total_sq / count - mean * mean, 0.0)
    return Normalisation(mean, float(np.sqrt(var)) if var > 0 else 1.0)


def iterate_batches(particles: ParticleSet, indices: Sequence[int] | np.ndarray,
                    batch_size: int) -> Iterator[torch.Tensor]:
    """Yield ``(B, D, H, W)`` float32 batches of ``particles[indices]`` in order."""
    idx = np.asarray(indices, dtype=np.int64)
    for start in range(0, len(idx), batch_size):
        yield particles.get_batch(idx[start:start + batch_size].tolist())


def tilt_tensors(tilt_ranges: np.ndarray, indices: np.ndarray,
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-particle ``(tilt_min, tilt_max)`` tensors of shape (B,) in degrees."""
    sel = torch.as_tensor(tilt_ranges[indices], dtype=torch.float32, device=device)
    return sel[:, 0], sel[:, 1]
