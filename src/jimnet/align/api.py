"""Public alignment API: pairwise (the paper's pair protocol) and particles-to-reference.

Direction (the single pose definition of :mod:`jimnet.geometry.pose`): ``align(source, target)``
returns ``(R, t)`` with ``rigid_transform(source, R, t) ≈ target``. Aligning particles to a
reference therefore uses the reference as the source: the result is the pose that maps the
reference onto each particle (reference → particle), which is exactly what a RELION STAR file
stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal, NamedTuple

import torch

from jimnet.align.exhaustive import exhaustive_search
from jimnet.align.fa import fa_search
from jimnet.align.ht import ht_search
from jimnet.align.score import PreparedPairs
from jimnet.align.search import AlignParams, SearchResult, preprocess, refine_local
from jimnet.align.wedge import WedgeLike, WedgeSet

Method = Literal["ht", "fa", "exhaustive"]
METHODS: tuple[str, ...] = ("ht", "fa", "exhaustive")


class AlignResult(NamedTuple):
    """Poses mapping sources onto targets, float64 on the CPU.

    Attributes
    ----------
    rotation : torch.Tensor, shape (..., 3, 3)
        Rotation acting on zyx vectors.
    shift : torch.Tensor, shape (..., 3)
        Shift in voxels, zyx.
    score : torch.Tensor, shape (...)
        Constrained correlation at the pose (−1 … 1).
    """

    rotation: torch.Tensor
    shift: torch.Tensor
    score: torch.Tensor


def _run(prep: PreparedPairs, method: str, params: AlignParams) -> SearchResult:
    if method == "ht":
        return ht_search(prep, params)
    if method == "fa":
        return fa_search(prep, params)
    if method == "exhaustive":
        return exhaustive_search(prep, params)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _as_volumes(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    vol = torch.as_tensor(x)
    if vol.ndim == 3:
        vol = vol[None]
    if vol.ndim != 4 or len(set(vol.shape[-3:])) != 1:
        raise ValueError(f"volumes must be cubic (N, N, N) or (P, N, N, N), got {tuple(vol.shape)}")
    if not torch.isfinite(vol).all():
        raise ValueError("volumes contain NaN or infinite voxels")
    return vol.to(device=device, dtype=torch.float32)


def _to_cpu(res: SearchResult) -> AlignResult:
    return AlignResult(
        res.rotation.detach().to("cpu", torch.float64),
        res.shift.detach().to("cpu", torch.float64),
        res.score.detach().to("cpu", torch.float64),
    )


def align(
    source: torch.Tensor,
    target: torch.Tensor,
    wedge_s: WedgeLike = None,
    wedge_t: WedgeLike = None,
    *,
    method: Method = "ht",
    params: AlignParams | None = None,
    device: torch.device | str | None = None,
) -> AlignResult:
    """Pose that maps ``source`` onto ``target``: ``rigid_transform(source, R, t) ≈ target``.

    Parameters
    ----------
    source, target : torch.Tensor, shape (N, N, N)
        Real subtomograms, zyx, box centre ``N // 2``.
    wedge_s, wedge_t : WedgeLike
        Observed regions of each volume in its own frame: ``None`` (no wedge),
        ``(tilt_min_deg, tilt_max_deg)`` or a shifted-layout ``(N, N, N)`` Fourier weight
        (:mod:`jimnet.align.wedge`).
    method : {"ht", "fa", "exhaustive"}
        H-T align, F&A align or the exhaustive grid search.
    params : AlignParams, optional
        Search settings (default :class:`AlignParams`).
    device : torch.device or str, optional
        Where to compute (default: the device of ``source``).

    Returns
    -------
    AlignResult
        ``(rotation (3, 3), shift (3,) voxels zyx, score ())``, float64 on the CPU.
    """
    res = align_pairs(source[None], target[None], [wedge_s], [wedge_t], method=method,
                      params=params, device=device)
    return AlignResult(res.rotation[0], res.shift[0], res.score[0])


def align_pairs(
    sources: torch.Tensor,
    targets: torch.Tensor,
    wedges_s: Sequence[WedgeLike] | None = None,
    wedges_t: Sequence[WedgeLike] | None = None,
    *,
    method: Method = "ht",
    params: AlignParams | None = None,
    device: torch.device | str | None = None,
    batch_size: int = 1,
    progress: Callable[[int], None] | None = None,
) -> AlignResult:
    """Align many (source, target) pairs, ``batch_size`` pairs at a time.

    Parameters
    ----------
    sources, targets : torch.Tensor, shape (P, N, N, N)
    wedges_s, wedges_t : sequence of WedgeLike, length P, optional
        Default: no wedges.
    batch_size : int
        Pairs searched together (larger batches pay off on a GPU).
    progress : callable, optional
        Called with the number of pairs finished after each batch.

    Returns
    -------
    AlignResult
        Shapes (P, 3, 3), (P, 3), (P,).
    """
    params = params or AlignParams()
    dev = torch.device(device) if device is not None else torch.as_tensor(sources).device
    src_all = _as_volumes(sources, dev)
    tgt_all = _as_volumes(targets, dev)
    if src_all.shape != tgt_all.shape:
        raise ValueError(f"sources {tuple(src_all.shape)} and targets {tuple(tgt_all.shape)} "
                         "must have the same shape")
    p, n = src_all.shape[0], src_all.shape[-1]
    ws = list(wedges_s) if wedges_s is not None else [None] * p
    wt = list(wedges_t) if wedges_t is not None else [None] * p
    if len(ws) != p or len(wt) != p:
        raise ValueError("one wedge per pair is required")
    out: list[SearchResult] = []
    for start in range(0, p, batch_size):
        sl = slice(start, min(p, start + batch_size))
        src, src_c = preprocess(src_all[sl], params, return_centres=True)
        tgt, tgt_c = preprocess(tgt_all[sl], params, return_centres=True)
        prep = PreparedPairs.build(
            src, tgt, WedgeSet.build(ws[sl], n, device=dev), WedgeSet.build(wt[sl], n, device=dev),
            pad=params.pad, source_centre=src_c, target_centre=tgt_c,
        )
        out.append(_run(prep, method, params))
        if progress is not None:
            progress(sl.stop - sl.start)
    return _to_cpu(SearchResult(*(torch.cat([getattr(r, f) for r in out])
                                  for f in ("rotation", "shift", "score"))))


def align_to_reference(
    particles: Iterable[torch.Tensor],
    reference: torch.Tensor,
    wedges: Iterable[WedgeLike] | None = None,
    *,
    reference_wedge: WedgeLike = None,
    method: Method = "ht",
    params: AlignParams | None = None,
    device: torch.device | str | None = None,
    batch_size: int = 8,
    progress: Callable[[int], None] | None = None,
    initial_rotations: torch.Tensor | None = None,
    local_step: float = 5.0,
) -> AlignResult:
    """Pose of the reference in every particle: ``rigid_transform(reference, R, t) ≈ particle``.

    The reference spectrum is prepared once and shared: on the global grid every rotated
    reference is computed once per batch of particles. With ``initial_rotations`` the global
    search is skipped: each particle's pose is refined locally around its given rotation
    (:func:`jimnet.align.search.refine_local`, first lattice step ``local_step``).

    Parameters
    ----------
    particles : iterable of torch.Tensor, each (N, N, N) or (b, N, N, N)
        Particles (streamed; e.g. batches read lazily from a STAR file).
    reference : torch.Tensor, shape (N, N, N)
    wedges : iterable of WedgeLike, optional
        One per particle, in the particle's (tomogram) frame. Default: no wedges.
    reference_wedge : WedgeLike
        Observed region of the reference (default: complete, e.g. an average or a map).
    batch_size : int
        Particles searched together.
    initial_rotations : torch.Tensor, shape (P, 3, 3), optional
        Current reference → particle rotations (zyx): local search only.
    local_step : float
        First lattice step (degrees) of the local search; with ``max_moves`` it reaches about
        ``(1 + max_moves) · local_step`` from the start.

    Returns
    -------
    AlignResult
        Shapes (P, 3, 3), (P, 3), (P,): reference → particle poses (RELION's meaning).
    """
    params = params or AlignParams()
    dev = torch.device(device) if device is not None else torch.as_tensor(reference).device
    ref = _as_volumes(reference, dev)
    n = ref.shape[-1]
    ref_prep, ref_c = preprocess(ref, params, return_centres=True)
    ref_wedge = WedgeSet.build([reference_wedge], n, device=dev)
    wedge_iter = iter(wedges) if wedges is not None else None
    results: list[SearchResult] = []
    buffer: list[torch.Tensor] = []
    buffer_w: list[WedgeLike] = []

    def flush() -> None:
        if not buffer:
            return
        tgt = torch.cat(buffer)
        if tgt.shape[-3:] != ref.shape[-3:]:
            raise ValueError(f"particles {tuple(tgt.shape[-3:])} and reference "
                             f"{tuple(ref.shape[-3:])} differ in shape")
        tgt_prep, tgt_c = preprocess(tgt, params, return_centres=True)
        prep = PreparedPairs.build(ref_prep, tgt_prep, ref_wedge,
                                   WedgeSet.build(buffer_w, n, device=dev), pad=params.pad,
                                   source_centre=ref_c, target_centre=tgt_c)
        if initial_rotations is None:
            results.append(_run(prep, method, params))
        else:
            start = sum(r.score.shape[0] for r in results)
            init = torch.as_tensor(initial_rotations)[start:start + tgt.shape[0]]
            results.append(refine_local(prep, init.to(dev, torch.float32)[:, None],
                                        2.0 * local_step, params))
        if progress is not None:
            progress(tgt.shape[0])
        buffer.clear()
        buffer_w.clear()

    for item in particles:
        vols = _as_volumes(item, dev)
        for v in vols:
            buffer.append(v[None])
            buffer_w.append(next(wedge_iter) if wedge_iter is not None else None)
            if len(buffer) == batch_size:
                flush()
    flush()
    if not results:
        raise ValueError("no particles to align")
    return _to_cpu(SearchResult(*(torch.cat([getattr(r, f) for r in results])
                                  for f in ("rotation", "shift", "score"))))
