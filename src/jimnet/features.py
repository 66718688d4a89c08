"""Streaming access to a particle set: batches, global normalisation and the feature pass.

Used by training, prediction and the benchmark protocols; memory stays flat in N.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from jimnet.distributed import gather_rows, rank_and_world, shard, sum_across_ranks
from jimnet.io import ParticleSet


@dataclass(frozen=True)
class Normalisation:
    """Global standardisation ``(x − mean) / std`` of a whole set (Gum-Net's demo)."""

    mean: float
    std: float

    def apply(self, volumes: torch.Tensor) -> torch.Tensor:
        return (volumes - self.mean) / self.std


def global_normalisation(particles: ParticleSet, batch_size: int = 64) -> Normalisation:
    """Mean and std over all voxels of all particles, accumulated in float64 in index order.

    Under a process group each rank sums its own :func:`~jimnet.distributed.shard` and the
    sums are added over the ranks (the values may then differ from one process's in the last
    bits).
    """
    rank, world = rank_and_world()
    sums = np.zeros(3)  # Σx, Σx², count
    for batch in iterate_batches(particles, shard(len(particles), rank, world), batch_size):
        b = batch.double()
        sums += (float(b.sum()), float((b * b).sum()), b.numel())
    total, total_sq, count = sum_across_ranks(sums)
    mean = total / count
    var = max(total_sq / count - mean * mean, 0.0)
    return Normalisation(float(mean), float(np.sqrt(var)) if var > 0 else 1.0)


def classify_particles(model: nn.Module, particles: ParticleSet, norm: Normalisation,
                       batch_size: int, device: torch.device | str,
                       progress: Callable[[str, int, int], None] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``model.classify`` on every particle (eval mode, no gradient), streamed in batches.

    Under a process group each rank runs its contiguous shard and the rows are gathered on
    every rank.

    Returns
    -------
    features : numpy.ndarray, shape (n, F), float64
        The clustering features (Jim-Net: M_CP's penultimate layer).
    logits : numpy.ndarray, shape (n, K), float64
    """
    rank, world = rank_and_world()
    n = len(particles)
    mine = shard(n, rank, world)
    model.eval()
    feats, logits = [], []
    with torch.no_grad():
        for start in range(0, max(len(mine), 1), batch_size):
            # An empty shard (fewer particles than ranks) still needs the output widths.
            idx = mine[start:start + batch_size].tolist() or [0]
            lg, f = model.classify(norm.apply(particles.get_batch(idx)).to(device))
            keep = min(len(idx), len(mine))
            feats.append(f[:keep].cpu().double().numpy())
            logits.append(lg[:keep].cpu().double().numpy())
            if progress is not None and keep:
                progress("features", start + keep, len(mine))
    return gather_rows(np.concatenate(feats), n), gather_rows(np.concatenate(logits), n)


def iterate_batches(particles: ParticleSet, indices: Sequence[int] | np.ndarray,
                    batch_size: int) -> Iterator[torch.Tensor]:
    """Yield ``(B, D, H, W)`` float32 batches of ``particles[indices]`` in order."""
    idx = np.asarray(indices, dtype=np.int64)
    for start in range(0, len(idx), batch_size):
        yield particles.get_batch(idx[start:start + batch_size].tolist())

