"""H-T align (Xu, Beck & Alber 2012): amplitudes first, then translations, then local refinement.

SIMULATION_AND_BASELINES.md §2.2, implemented as option B of §2.4 on the shared engine:

1. Rank every rotation of the global uniform grid by the translation-invariant, wedge-constrained
   **amplitude** score ``s(R)`` (:func:`jimnet.align.score.amplitude_scores`) on a low-pass box.
2. Keep its local maxima (greedy non-maximum suppression, radius 1.5 grid steps; up to
   ``n_peaks``).
3. For every peak rotation, search all translations at once with the constrained correlation
   (one inverse FFT per peak) and rank the peaks by that score.
4. Refine the best ``n_candidates`` locally (rotation grids down to ``final_step``, translation
   search at every local rotation, sub-voxel peak).

The spherical-harmonic SO(3) FFT of the original is replaced by direct evaluation of the same
score on a uniform grid (allowed by the issue; the refinement gives the angular accuracy).
"""

from __future__ import annotations

import torch

from jimnet.align.score import PreparedPairs, amplitude_scores, correlation_scores
from jimnet.align.search import (
    AlignParams,
    SearchResult,
    global_grid,
    level_for,
    peaks_of,
    refine_local,
)


def ht_search(prep: PreparedPairs, params: AlignParams, *, n_peaks: int | None = None
              ) -> SearchResult:
    """Run H-T align on prepared pairs.

    Parameters
    ----------
    prep : PreparedPairs
    params : AlignParams
    n_peaks : int, optional
        Maximum number of amplitude-score local maxima that get a translation search
        (default ``params.n_peaks``).

    Returns
    -------
    SearchResult
    """
    n_peaks = params.n_peaks if n_peaks is None else n_peaks
    grid = global_grid(params, prep.source)
    coarse = level_for(prep, params.angular_step, params)
    amp = amplitude_scores(prep, coarse, grid[None], chunk=4 * params.chunk)
    peaks = peaks_of(grid, amp, max(n_peaks, params.n_candidates), params)  # (P, K1)
    rots = grid[peaks]
    score, _ = correlation_scores(prep, coarse, rots, chunk=params.chunk)
    order = torch.argsort(score, dim=1, descending=True)[:, : params.n_candidates]
    ar = torch.arange(rots.shape[0], device=rots.device)[:, None]
    return refine_local(prep, rots[ar, order], params.angular_step, params)
