"""Exhaustive search (SIMULATION_AND_BASELINES.md §2.4, option A): full score on the global grid.

Every rotation of the global uniform grid gets the constrained correlation with a full
translation search (one inverse FFT each, on a low-pass working box); the best distinct local
maxima are refined locally. Slower than H-T's amplitude ranking, but it never discards the right
rotation because of the amplitude spectrum's ambiguities.
"""

from __future__ import annotations

from jimnet.align.score import PreparedPairs, correlation_scores
from jimnet.align.search import (
    AlignParams,
    SearchResult,
    global_grid,
    level_for,
    peaks_of,
    refine_local,
)


def exhaustive_search(prep: PreparedPairs, params: AlignParams) -> SearchResult:
    """Run the exhaustive grid search plus local refinement on prepared pairs."""
    grid = global_grid(params, prep.source)
    coarse = level_for(prep, params.angular_step, params)
    score, _ = correlation_scores(prep, coarse, grid[None], chunk=params.chunk)
    peaks = peaks_of(grid, score, params.n_candidates, params)
    return refine_local(prep, grid[peaks], params.angular_step, params)
