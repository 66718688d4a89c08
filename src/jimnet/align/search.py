"""The shared rotational-search engine: parameters, pre-processing, global grids, local refinement.

Coarse to fine (SIMULATION_AND_BASELINES.md §2.4, option A/B): a global uniform SO(3) grid at the
angular step Δ is scored on a low-pass working box; the best candidates are refined by local
3×3×3 rotation grids (hill climbing, step halved when the centre wins) down to ``final_step``,
scoring every local rotation with the constrained correlation and a full translation search.
The frequency band follows the angular step: at step δ (radians) the band edge is
``band_factor / δ`` cycles per box (so a rotation by δ moves the outermost sample by about
``band_factor`` voxels), capped at ``max_freq·N``; the working box is the smallest even box that
holds the band, so coarse levels are cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from jimnet.align.centre import estimate_centre, particle_masks
from jimnet.align.params import AlignParams
from jimnet.align.score import Level, PreparedPairs, correlation_near_shift, correlation_scores
from jimnet.align.so3_grid import (
    asymmetric_unit,
    axis_angle_to_matrix,
    local_rotations,
    quadratic_peak,
    select_peaks,
    uniform_rotations,
)
from jimnet.align.spectra import soft_sphere, working_box
from jimnet.fourier import frequency_magnitude
from jimnet.geometry.symmetry import symmetry_group


def preprocess(
    volume: torch.Tensor, params: AlignParams, *, return_centres: bool = False
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
    """Soft spherical mask, zero mean inside it, unit energy. (P, N, N, N) → (P, N, N, N).

    With ``return_centres`` also the estimated particle centres (P, 3) (voxels from ``N // 2``,
    zyx; ``None`` without ``particle_radius``).
    """
    n = volume.shape[-1]
    vol = volume.to(torch.float32)
    radius = n / 2 if params.mask_radius is None else params.mask_radius
    centres = None
    if params.particle_radius is not None:
        centres = estimate_centre(vol, params.particle_radius)
        mask = particle_masks((n, n, n), centres, params.particle_radius + params.mask_width,
                              params.mask_width)
        mask = mask * soft_sphere((n, n, n), n / 2, params.mask_width, device=vol.device)
        mean = (vol * mask).sum((-3, -2, -1), keepdim=True) / mask.sum((-3, -2, -1), keepdim=True)
        vol = (vol - mean) * mask
    elif radius > 0:
        mask = soft_sphere((n, n, n), radius, params.mask_width, device=vol.device)
        mean = (vol * mask).sum((-3, -2, -1), keepdim=True) / mask.sum()
        vol = (vol - mean) * mask
    else:
        vol = vol - vol.mean((-3, -2, -1), keepdim=True)
    if params.weight_sigma is not None:
        r2 = frequency_magnitude((n, n, n), "rfft", device=vol.device) ** 2 * n * n
        filt = torch.exp(-r2 / (4.0 * params.weight_sigma**2))
        vol = torch.fft.irfftn(torch.fft.rfftn(vol, dim=(-3, -2, -1)) * filt, s=(n, n, n),
                               dim=(-3, -2, -1))
    energy = vol.pow(2).sum((-3, -2, -1), keepdim=True).sqrt()
    vol = vol / energy.clamp_min(1e-12)
    return (vol, centres) if return_centres else vol


def band_edge(step_deg: float, n: int, params: AlignParams) -> float:
    """Upper band edge (cycles per box) used at angular step ``step_deg``."""
    top = params.max_freq * n
    top = min(top, n / 2 - 1.0)
    floor = min(top, 4.0)
    return float(min(top, max(floor, params.band_factor / math.radians(step_deg))))


def level_for(prep: PreparedPairs, step_deg: float, params: AlignParams, *, final: bool = False
              ) -> Level:
    """The working box and band for an angular step (``final``: translation map on ≥ N box)."""
    r_hi = band_edge(step_deg, prep.n, params)
    box = working_box(r_hi)
    if final:
        box = max(box, prep.n + prep.n % 2)
    return prep.level(box, params.min_freq, r_hi, params.max_shift)


def symmetry_of(params: AlignParams, like: torch.Tensor) -> torch.Tensor:
    """The source's point group (G, 3, 3) as a tensor like ``like`` (identity first)."""
    return torch.as_tensor(symmetry_group(params.symmetry), dtype=like.dtype, device=like.device)


def global_grid(params: AlignParams, like: torch.Tensor) -> torch.Tensor:
    """The uniform global rotation grid as a (n, 3, 3) tensor like ``like``.

    With a symmetric source only its asymmetric unit: every other grid rotation scores the
    same as a mate inside it.
    """
    grid = torch.as_tensor(uniform_rotations(params.angular_step), dtype=like.dtype,
                           device=like.device)
    if params.symmetry == "C1":
        return grid
    return asymmetric_unit(grid, symmetry_of(params, like))


def peaks_of(
    grid: torch.Tensor, scores: torch.Tensor, k: int, params: AlignParams
) -> torch.Tensor:
    """Indices (P, k) of the best local maxima of ``scores`` (P, n) on ``grid`` that are
    distinct modulo the source's symmetry."""
    return select_peaks(grid, scores, k, params.peak_radius * params.angular_step,
                        symmetry_of(params, grid))


@dataclass(frozen=True)
class SearchResult:
    """Best pose per pair. ``rotation`` (P, 3, 3), ``shift`` (P, 3) voxels zyx, ``score`` (P,)."""

    rotation: torch.Tensor
    shift: torch.Tensor
    score: torch.Tensor


def refine_local(
    prep: PreparedPairs,
    candidates: torch.Tensor,
    start_step: float,
    params: AlignParams,
) -> SearchResult:
    """Coarse-to-fine local refinement of candidate rotations with a full translation search.

    Parameters
    ----------
    prep : PreparedPairs
    candidates : torch.Tensor, shape (P, K, 3, 3)
        Starting rotations, best first.
    start_step : float
        Spacing (degrees) of the grid the candidates come from; refinement starts at half of it.
    params : AlignParams

    Returns
    -------
    SearchResult
        The best refined candidate per pair, scored on the finest level.
    """
    if params.refine == "fit":
        return refine_fit(prep, candidates, start_step, params)
    p = candidates.shape[0]
    current = candidates
    step = start_step / 2.0
    ar = torch.arange(p, device=current.device)
    while True:
        last = step <= params.final_step * (1.0 + 1e-6)
        level = level_for(prep, step, params, final=last)
        k = current.shape[1]
        for _ in range(max(1, params.max_moves)):
            rots = local_rotations(current, step)  # (P, K, 27, 3, 3)
            nb = rots.shape[2]
            sc, sh = correlation_scores(prep, level, rots.reshape(p, k * nb, 3, 3),
                                        chunk=params.chunk)
            sc, sh = sc.reshape(p, k, nb), sh.reshape(p, k, nb, 3)
            best = sc.argmax(-1)  # (P, K); identity is index 0
            pk = (ar[:, None], torch.arange(k, device=current.device)[None])
            current = rots[pk[0], pk[1], best]
            score, shift = sc[pk[0], pk[1], best], sh[pk[0], pk[1], best]
            if bool((best == 0).all()):
                break
        order = torch.argsort(score, dim=1, descending=True)
        keep = 1 if last else max(1, math.ceil(k / 2))
        sel = order[:, :keep]
        current = current[ar[:, None], sel]
        score, shift = score[ar[:, None], sel], shift[ar[:, None], sel]
        if last:
            return SearchResult(current[:, 0], shift[:, 0], score[:, 0])
        step = max(step / 2.0, params.final_step)


def _take(x: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
    """``x[p, sel[p, j]]`` for ``x`` of shape (P, K, ...) and ``sel`` (P, J)."""
    ar = torch.arange(x.shape[0], device=x.device)[:, None]
    return x[ar, sel]


def refine_fit(
    prep: PreparedPairs,
    candidates: torch.Tensor,
    start_step: float,
    params: AlignParams,
) -> SearchResult:
    """Local refinement by quadratic fits on 3×3×3 rotation lattices (the fast default).

    Per level (lattice step δ, starting at half the grid spacing and divided by
    ``params.step_factor`` per level down to ``final_step``; frequency band of
    :func:`level_for`, which grows as the step shrinks): one FFT translation search at each
    candidate, the 27 lattice rotations scored with the shift carried over by a Newton step
    (:func:`correlation_near_shift`, no FFT), a quadratic fit to those scores
    (:func:`jimnet.align.so3_grid.quadratic_peak`) and a move to the better of its maximum and
    the best lattice rotation; while the best lattice rotation wins, the candidate moves there at
    the same step (at most ``max_moves`` times). At the start of the second level the candidates
    are cut to a half, later to a third, by
    their score on that level's band; the best one gets a full translation search on the final
    level.

    Parameters and result as :func:`refine_local`.
    """
    p = candidates.shape[0]
    rot = candidates
    step = start_step / 2.0
    ones = torch.ones(rot.shape[:2], dtype=rot.dtype, device=rot.device)
    level_no = 0
    while True:
        # Full band from the first level: refining on the global pass's coarse band moved
        # candidates into wrong local maxima at SNR 0.05 (development runs).
        level = level_for(prep, step, params)
        centre_score, shift = correlation_scores(prep, level, rot, chunk=params.chunk)
        if level_no > 0:  # prune on this level's band, before paying for its lattices
            keep = max(1, math.ceil(rot.shape[1] / (2 if level_no == 1 else 3)))
            sel = torch.argsort(centre_score, dim=1, descending=True)[:, :keep]
            rot, shift = _take(rot, sel), _take(shift, sel)
        level_no += 1
        k = rot.shape[1]
        steps = ones[:, :k] * step
        for _ in range(max(1, params.max_moves)):
            local = local_rotations(rot, steps)  # (P, K, 27, 3, 3)
            nb = local.shape[2]
            start = shift[:, :, None].expand(p, k, nb, 3).reshape(p, k * nb, 3)
            sc, sh = correlation_near_shift(prep, level, local.reshape(p, k * nb, 3, 3), start,
                                            chunk=2 * params.chunk)
            sc, sh = sc.reshape(p, k, nb), sh.reshape(p, k, nb, 3)
            offset, ok = quadratic_peak(sc)
            fitted = axis_angle_to_matrix(offset * torch.deg2rad(steps)[..., None]) @ rot
            f_sc, f_sh = correlation_near_shift(prep, level, fitted, shift,
                                                chunk=2 * params.chunk)
            best_sc, best = sc.max(-1)
            ar_p = torch.arange(p, device=rot.device)[:, None]
            ar_k = torch.arange(k, device=rot.device)[None]
            use_fit = ok & (f_sc >= best_sc)
            rot = torch.where(use_fit[..., None, None], fitted, local[ar_p, ar_k, best])
            shift = torch.where(use_fit[..., None], f_sh, sh[ar_p, ar_k, best])
            score = torch.where(use_fit, f_sc, best_sc)
            if bool((use_fit | (best == 0)).all()):
                break
        if step <= params.final_step * (1.0 + 1e-6):
            best = score.argmax(1)[:, None]
            final = level_for(prep, step, params, final=True)
            score, shift = correlation_scores(prep, final, _take(rot, best), chunk=params.chunk)
            return SearchResult(_take(rot, best)[:, 0], shift[:, 0], score[:, 0])
        step = max(step / params.step_factor, params.final_step)
