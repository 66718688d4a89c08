"""Within-cluster pair matching (METHOD.md §5.1 step 6) and the pairs' tilt ranges."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray


def within_cluster_pairs(labels: ArrayLike, rng: np.random.Generator) -> NDArray[np.int64]:
    """Pair every subtomogram (as source) with a target of the same cluster.

    Within each cluster the targets are a random permutation of the members, so each subtomogram
    is also used exactly once as a target. Self-pairs are avoided whenever the cluster has more
    than one member (a random derangement: a permutation drawn until it has no fixed point, which
    takes e ≈ 2.7 draws on average).

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        Cluster label of each subtomogram.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int, shape (n, 2)
        ``(source_index, target_index)`` rows, in index order of the source.
    """
    lab = np.asarray(labels)
    targets = np.arange(len(lab))
    for k in np.unique(lab):
        members = np.flatnonzero(lab == k)
        if len(members) < 2:
            continue
        while True:
            perm = rng.permutation(len(members))
            if not np.any(perm == np.arange(len(members))):
                break
        targets[members] = members[perm]
    return np.stack([np.arange(len(lab)), targets], axis=1)


def tilt_tensors(tilt_ranges: np.ndarray, indices: np.ndarray,
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-particle ``(tilt_min, tilt_max)`` tensors of shape (B,) in degrees."""
    sel = torch.as_tensor(tilt_ranges[indices], dtype=torch.float32, device=device)
    return sel[:, 0], sel[:, 1]
