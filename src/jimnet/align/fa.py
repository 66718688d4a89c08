"""F&A align (Chen et al. 2013, PyTom FRM): power-spectrum seeds, then translation ↔ rotation.

SIMULATION_AND_BASELINES.md §2.3 on the shared engine:

1. **Seeds**: rank the global uniform grid by the translation-invariant, wedge-constrained
   **power-spectrum** score (``|F|²``) and keep the ``n_seeds`` best distinct local maxima.
2. For every seed alternate, at most ``max_iter`` times:

   a. at the current rotation, find the shift by the constrained correlation over all shifts
      (one inverse FFT; sub-voxel peak);
   b. at that shift (the target is "shifted back"), score the full complex constrained
      correlation on a local 3×3×3 rotation grid and move to its best rotation; the step is
      halved whenever the centre wins, down to ``final_step``;
   c. stop once the step is final, the rotation did not move and the shift changed by ≤ 1 voxel.

   After every alternation the seeds are halved by their current score (successive halving, at
   least 10 kept), so many seeds cost little more than the paper's five.
3. Return the seed with the best final score (translation search at the final rotation).

The rotation step is a local search around the current rotation instead of FRM's global SO(3)
FFT at the fixed shift; the seeds provide the global part.
"""

from __future__ import annotations

import math

import torch

from jimnet.align.score import (
    PreparedPairs,
    amplitude_scores,
    correlation_at_shift,
    correlation_scores,
)
from jimnet.align.search import (
    AlignParams,
    SearchResult,
    global_grid,
    level_for,
    peaks_of,
)
from jimnet.align.so3_grid import local_rotations


def fa_search(
    prep: PreparedPairs,
    params: AlignParams,
    *,
    n_seeds: int | None = None,
    max_iter: int | None = None,
) -> SearchResult:
    """Run F&A align on prepared pairs.

    Parameters
    ----------
    prep : PreparedPairs
    params : AlignParams
    n_seeds : int, optional
        Power-spectrum seeds per pair (default ``params.n_seeds``; the paper's ``num_seeds`` is 5).
    max_iter : int, optional
        Translation/rotation alternations per seed (default ``params.max_iter``; paper: 10).

    Returns
    -------
    SearchResult
    """
    n_seeds = params.n_seeds if n_seeds is None else n_seeds
    max_iter = params.max_iter if max_iter is None else max_iter
    grid = global_grid(params, prep.source)
    coarse = level_for(prep, params.angular_step, params)
    power = amplitude_scores(prep, coarse, grid[None], power=True, chunk=4 * params.chunk)
    rot = grid[peaks_of(grid, power, n_seeds, params)]  # (P, S, 3, 3)
    p, s = rot.shape[:2]
    steps = torch.full((p, s), params.angular_step / 2.0, dtype=rot.dtype, device=rot.device)
    prev_shift: torch.Tensor | None = None
    ar_p = torch.arange(p, device=rot.device)[:, None]
    ar_s = torch.arange(s, device=rot.device)[None]
    keep_min = 10
    for _ in range(max_iter):
        level = level_for(prep, float(steps.max()), params)
        _, shift = correlation_scores(prep, level, rot, chunk=params.chunk)  # (P, S, 3)
        local = local_rotations(rot, steps)  # (P, S, 27, 3, 3)
        nb = local.shape[2]
        shifts = shift[:, :, None].expand(p, s, nb, 3).reshape(p, s * nb, 3)
        sc = correlation_at_shift(prep, level, local.reshape(p, s * nb, 3, 3), shifts,
                                  chunk=2 * params.chunk).reshape(p, s, nb)
        best_score, best = sc.max(-1)
        rot = local[ar_p, ar_s, best]
        moved = best != 0
        steps = torch.where(moved, steps, (steps / 2.0).clamp_min(params.final_step))
        settled = prev_shift is not None and bool(
            ((shift - prev_shift).norm(dim=-1) <= 1.0).all()
        )
        prev_shift = shift
        if s > keep_min:  # successive halving of the seeds, by their current score
            s = max(keep_min, math.ceil(s / 2))
            sel = torch.argsort(best_score, dim=1, descending=True)[:, :s]
            rot, steps = rot[ar_p, sel], steps[ar_p, sel]
            moved, prev_shift = moved[ar_p, sel], prev_shift[ar_p, sel]
            ar_s = torch.arange(s, device=rot.device)[None]
        if settled and bool((~moved).all()) and bool((steps <= params.final_step).all()):
            break
    final = level_for(prep, params.final_step, params, final=True)
    score, shift = correlation_scores(prep, final, rot, chunk=params.chunk)
    best = score.argmax(1)
    ar = torch.arange(p, device=rot.device)
    return SearchResult(rot[ar, best], shift[ar, best], score[ar, best])
