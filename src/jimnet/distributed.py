"""Thin helpers over ``torch.distributed`` for runs launched with ``torchrun``.

Without an initialised process group every helper degrades to the single-process case, so the
trainer has one code path.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.distributed as dist


def init_from_environment(device: str = "auto") -> bool:
    """Initialise the default process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1).

    Uses gloo on CPU; with CUDA, NCCL for CUDA tensors (DDP's gradients) and gloo for the CPU
    tensors the helpers below exchange (NCCL alone cannot reduce CPU tensors). Returns whether a
    group is active.
    """
    if dist.is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    dist.init_process_group(backend="cpu:gloo,cuda:nccl" if use_cuda else "gloo")
    return True


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(n: int, rank: int, world: int) -> np.ndarray:
    """Contiguous block of ``range(n)`` owned by ``rank`` (blocks concatenate in rank order)."""
    return np.array_split(np.arange(n), world)[rank]


def gather_rows(local: np.ndarray, n_total: int) -> np.ndarray:
    """Concatenate every rank's rows (contiguous shards of :func:`shard`) on every rank."""
    _, world = rank_and_world()
    if world == 1:
        return local
    width = int(np.prod(local.shape[1:]))
    longest = -(-n_total // world)
    buf = torch.zeros(longest, width, dtype=torch.float64)
    buf[: len(local)] = torch.from_numpy(local.reshape(len(local), width).astype(np.float64))
    parts = [torch.zeros_like(buf) for _ in range(world)]
    dist.all_gather(parts, buf)
    sizes = [len(shard(n_total, r, world)) for r in range(world)]
    rows = torch.cat([p[:s] for p, s in zip(parts, sizes, strict=True)]).numpy()
    return rows.reshape(n_total, *local.shape[1:]).astype(local.dtype)


def sum_across_ranks(values: np.ndarray) -> np.ndarray:
    """Element-wise sum of a float array over all ranks (identity for one process)."""
    _, world = rank_and_world()
    if world == 1:
        return values
    t = torch.from_numpy(np.asarray(values, dtype=np.float64).copy())
    dist.all_reduce(t)
    return t.numpy()


def broadcast_array(values: np.ndarray, src: int = 0) -> np.ndarray:
    """``values`` as held by rank ``src`` on every rank (same shape and dtype everywhere)."""
    _, world = rank_and_world()
    if world == 1:
        return values
    t = torch.from_numpy(np.ascontiguousarray(values).copy())
    dist.broadcast(t, src=src)
    return t.numpy()


def barrier() -> None:
    if rank_and_world()[1] > 1:
        dist.barrier()


def finish() -> None:
    """Wait for every rank, then tear the process group down (no-op without one).

    Without this, a rank that returns early (e.g. one that writes nothing) can exit while rank
    0 is still working, and gloo may abort the exiting process.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
