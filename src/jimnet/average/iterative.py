"""Iterative reference-free subtomogram averaging of one class.

1. Initial reference **from the data**: one particle (chosen by ``seed``), with its own wedge, or
   the wedge-weighted average under given starting poses.
2. ``n_iterations`` times: align every particle to the current reference
   (:func:`jimnet.align.align_to_reference`, H-T or F&A align, wedge-constrained score with the
   reference's observed region), then re-average with the wedge-weighted Fourier average.

The result is defined up to a global rigid transform (the frame of the initial reference).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from jimnet.align.api import Method, align_to_reference
from jimnet.align.search import AlignParams
from jimnet.align.wedge import WedgeLike
from jimnet.average.wedge_average import wedge_weighted_average


@dataclass(frozen=True)
class IterativeResult:
    """Outcome of :func:`iterative_average`.

    Attributes
    ----------
    average : torch.Tensor, shape (N, N, N)
    rotations : torch.Tensor, shape (P, 3, 3)
        Reference → particle rotations of the last iteration.
    shifts : torch.Tensor, shape (P, 3)
        Reference → particle shifts (voxels, zyx).
    scores : torch.Tensor, shape (P,)
        Constrained correlation of each particle with the last reference.
    mean_scores : list of float
        Mean score per iteration.
    """

    average: torch.Tensor
    rotations: torch.Tensor
    shifts: torch.Tensor
    scores: torch.Tensor
    mean_scores: list[float] = field(default_factory=list)


def iterative_average(
    particles: torch.Tensor,
    wedges: Sequence[WedgeLike] | None = None,
    *,
    n_iterations: int = 3,
    method: Method = "ht",
    params: AlignParams | None = None,
    initial: str = "particle",
    initial_poses: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
    floor: float = 0.1,
    device: torch.device | str | None = None,
    batch_size: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> IterativeResult:
    """Reference-free iterative alignment and averaging of one class.

    Parameters
    ----------
    particles : torch.Tensor, shape (P, N, N, N)
    wedges : sequence of WedgeLike, length P, optional
        Observed region of each particle in its own frame (default: complete).
    n_iterations : int
        Alignment/averaging rounds (≥ 1).
    method : {"ht", "fa", "exhaustive"}
    params : AlignParams, optional
        Its ``symmetry`` also symmetrises every average.
    initial : {"particle", "poses"}
        Initial reference: a seeded random particle, or the average under ``initial_poses``.
    initial_poses : (rotations (P, 3, 3), shifts (P, 3)), optional
        Required for ``initial="poses"``.
    seed : int
        Chooses the initial particle.
    floor : float
        Wedge-weight floor of the averages (fraction of ``P``).
    batch_size : int
        Particles aligned together.
    progress : callable, optional
        ``progress(done, total)`` with the number of particle alignments finished overall.

    Returns
    -------
    IterativeResult
    """
    if n_iterations < 1:
        raise ValueError("n_iterations must be ≥ 1")
    vol = torch.as_tensor(particles, dtype=torch.float32)
    p = vol.shape[0]
    sym = params.symmetry if params is not None else None  # symmetrised references
    wl: list[WedgeLike] = list(wedges) if wedges is not None else [None] * p
    if initial == "particle":
        k = int(np.random.default_rng(seed).integers(p))
        reference, ref_wedge = vol[k], wl[k]
    elif initial == "poses":
        if initial_poses is None:
            raise ValueError("initial='poses' needs initial_poses")
        reference = wedge_weighted_average(vol, *initial_poses, wl, floor=floor, symmetry=sym)
        ref_wedge = None
    else:
        raise ValueError(f"initial must be 'particle' or 'poses', got {initial!r}")
    total = n_iterations * p
    done = 0
    means: list[float] = []
    res = None
    for _ in range(n_iterations):
        def tick(k: int) -> None:
            nonlocal done
            done += k
            if progress is not None:
                progress(done, total)

        res = align_to_reference(
            vol, reference, wl, reference_wedge=ref_wedge, method=method, params=params,
            device=device, batch_size=batch_size, progress=tick,
        )
        reference = wedge_weighted_average(vol, res.rotation, res.shift, wl, floor=floor,
                                           symmetry=sym)
        ref_wedge = None
        means.append(float(res.score.mean()))
    assert res is not None
    return IterativeResult(reference, res.rotation, res.shift, res.score, means)
