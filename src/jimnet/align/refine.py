"""Multi-reference refinement with gold-standard half sets (what RELION/Dynamo/STOPGAP users run).

State: per particle a class ``c ∈ {1 … K}``, a pose (reference → particle, jimnet's convention)
and a half set ``h ∈ {1, 2}`` (``rlnRandomSubset``; seeded if absent). Each iteration:

1. **References** per (half, class): the wedge-weighted average of that half's members under the
   current poses; before any pose is known, one seeded member particle (with its wedge).
2. **Alignment** of every particle to each class reference *of its own half*: a global search
   (H-T align by default) while ``iteration < global_rounds``, later a local search around the
   particle's current pose (:func:`jimnet.align.align_to_reference` with ``initial_rotations``).
3. **Assignment** to the best-scoring class (wedge-constrained correlation); that class's pose.
4. **Averages, FSC**: per class, the two half maps, their FSC and resolution (0.143); one JSON
   line per iteration (class sizes, mean score, resolutions) and a checkpoint.

The two halves never see each other's particles until the final full maps (gold standard), so the
half-map FSC is not inflated by shared noise.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from jimnet.align.api import Method, align, align_to_reference
from jimnet.align.search import AlignParams
from jimnet.average.fsc import compute_fsc
from jimnet.average.wedge_average import wedge_weighted_average
from jimnet.errors import JimnetInputError
from jimnet.features import iterate_batches
from jimnet.geometry import compose_poses, invert_pose
from jimnet.io import ParticleSet, atomic_write, atomic_write_text

HALF_COLUMN = "rlnRandomSubset"
SCORE_COLUMN = "jimnetAlignScore"
POSE_COLUMNS = ("rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi")
CHECKPOINT = "checkpoint.npz"
LOG = "refine_log.jsonl"


@dataclass(frozen=True)
class RefineConfig:
    """Settings of :func:`refine`.

    Attributes
    ----------
    n_classes : int
        ``K``.
    n_iterations : int
        Alignment / reassignment / averaging rounds.
    global_rounds : int or None
        Rounds with a global search (``None``: 1 when the input has no poses, else 0).
    method : {"ht", "fa", "exhaustive"}
        Global search strategy.
    params : AlignParams
        Search settings of the global search (and of the local one without ``local_params``).
    local_params : AlignParams, optional
        Search settings of the local search (e.g. a finer ``final_step``).
    local_step : float
        First lattice step of the local search, degrees.
    use_input_classes, use_input_poses : bool
        Start from ``rlnClassNumber`` / ``rlnAngle*`` + ``rlnOrigin*`` when present.
    floor : float
        Wedge-weight floor of the averages (fraction of the members).
    seed : int
        Half sets (when absent), random classes, initial particles.
    batch_size : int
        Particles aligned together.
    reassign : bool
        Align every particle to every class and move it to the best one; ``False`` keeps the
        classes and aligns each particle to its own class only (``K×`` cheaper).
    score_rule : {"centred", "raw"}
        With ``reassign``, what "best" compares: ``"centred"`` (default) each class's scores
        minus their mean over the particles of the same half set (:func:`centred_scores`),
        ``"raw"`` the constrained correlations themselves. Some references correlate higher with
        every particle than others (more low-frequency power, a larger particle), which pulls
        particles into them; centring removes that class-level offset
        (benchmarks/results/cluster_reassign.md).
    n_starts : int
        Reference-free starts tried (each from other seeded member particles) when the input
        has no poses; each runs ``start_rounds`` global rounds and, per half set and class
        (per half set with ``reassign``), the start whose particles score highest on average
        against their own reference is kept (:func:`multi_start`).
    start_rounds : int
        Rounds each start runs before the choice (counted in ``n_iterations``).
    top_fraction : float
        During global rounds, the references average only this fraction of each half-class's
        members, those scoring highest in the previous round (``1``: all).
    class_radii : tuple of float, optional
        Particle radius (voxels) of each class ``1 … K``, replacing ``particle_radius`` of both
        search settings for that class (e.g. from
        :func:`jimnet.align.centre.particle_radius_from_profile`). Only with ``reassign=False``
        unless all are equal: reassignment compares scores across classes.
    """

    n_classes: int
    n_iterations: int = 3
    global_rounds: int | None = None
    method: Method = "ht"
    params: AlignParams = field(default_factory=AlignParams)
    local_params: AlignParams | None = None
    local_step: float = 5.0
    use_input_classes: bool = True
    use_input_poses: bool = True
    floor: float = 0.1
    seed: int = 0
    batch_size: int = 8
    reassign: bool = True
    score_rule: str = "centred"
    n_starts: int = 1
    start_rounds: int = 2
    top_fraction: float = 1.0
    class_radii: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.n_classes < 1:
            raise ValueError("n_classes must be ≥ 1")
        if self.n_iterations < 1:
            raise ValueError("n_iterations must be ≥ 1")
        if self.n_starts < 1 or self.start_rounds < 1:
            raise ValueError("n_starts and start_rounds must be ≥ 1")
        if not 0.0 < self.top_fraction <= 1.0:
            raise ValueError("top_fraction must be in (0, 1]")
        if self.score_rule not in ("centred", "raw"):
            raise ValueError(f"score_rule must be 'centred' or 'raw', got {self.score_rule!r}")
        if self.class_radii is not None and (len(self.class_radii) != self.n_classes
                                             or min(self.class_radii) <= 0):
            raise ValueError("class_radii needs one positive radius per class")
        if self.reassign and self.class_radii is not None and len(set(self.class_radii)) > 1:
            # reassignment compares scores across classes; masks of different sizes bias it
            raise ValueError("reassign needs one particle radius for every class")

    def search_params(self, k: int, local: bool = False) -> AlignParams:
        """Search settings for class ``k`` (1-based), global or local rounds."""
        params = (self.local_params or self.params) if local else self.params
        if self.class_radii is None:
            return params
        return replace(params, particle_radius=float(self.class_radii[k - 1]))


@dataclass
class RefineState:
    """Everything a resumed run needs (saved after every iteration).

    Attributes
    ----------
    iteration : int
        Iterations completed.
    classes : int array, shape (n,)
        1-based classes.
    halves : int array, shape (n,)
        1 or 2.
    rotations : float array, shape (n, 3, 3)
        Reference → particle rotations (zyx).
    shifts : float array, shape (n, 3)
        Reference → particle shifts (voxels, zyx).
    scores : float array, shape (n,)
        Score against the assigned class (NaN before the first iteration).
    have_poses : bool
        Whether the poses mean anything yet.
    """

    iteration: int
    classes: NDArray[np.int64]
    halves: NDArray[np.int64]
    rotations: NDArray[np.float64]
    shifts: NDArray[np.float64]
    scores: NDArray[np.float64]
    have_poses: bool

    def save(self, path: Path) -> None:
        """Write atomically as ``.npz``."""
        with atomic_write(path, force=True) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in asdict(self).items()})

    @classmethod
    def load(cls, path: Path) -> RefineState:
        """Read a state written by :meth:`save`."""
        with np.load(path) as z:
            return cls(int(z["iteration"]), z["classes"], z["halves"], z["rotations"],
                       z["shifts"], z["scores"], bool(z["have_poses"]))


@dataclass(frozen=True)
class RefineResult:
    """Outcome of :func:`refine`.

    Attributes
    ----------
    state : RefineState
        Final state with all poses in one frame per class (:func:`common_frame`); the
        checkpoint keeps each half in its own frame.
    averages, half_maps : dict
        Class number → full map (N, N, N) / (half 1, half 2) maps, for classes with members.
    resolutions : dict
        Class number → half-map FSC resolution in Å (0.143), where both halves have members.
    """

    state: RefineState
    averages: dict[int, torch.Tensor]
    half_maps: dict[int, tuple[torch.Tensor | None, torch.Tensor | None]]
    resolutions: dict[int, float]


def state_from(classes: NDArray, rotations: NDArray | None = None,
               shifts: NDArray | None = None, halves: NDArray | None = None, *, seed: int = 0
               ) -> RefineState:
    """A starting state from in-memory labels and poses (e.g. a clustering and network poses).

    Parameters
    ----------
    classes : int array, shape (n,)
        1-based classes.
    rotations, shifts : arrays, shapes (n, 3, 3), (n, 3), optional
        Reference → particle poses (zyx, voxels). Without them the first round is global.
    halves : int array of 1/2, shape (n,), optional
        Half sets (default: seeded random halves).
    """
    classes = np.asarray(classes, dtype=np.int64)
    n = len(classes)
    if halves is None:
        halves = 1 + (np.random.default_rng(seed).permutation(n) % 2)
    have = rotations is not None
    rot = np.asarray(rotations, dtype=np.float64) if have else np.tile(np.eye(3), (n, 1, 1))
    shift = (np.asarray(shifts, dtype=np.float64) if have and shifts is not None
             else np.zeros((n, 3)))
    return RefineState(0, classes, np.asarray(halves, dtype=np.int64), rot, shift,
                       np.full(n, np.nan), have)


def initial_state(particles: ParticleSet, config: RefineConfig) -> RefineState:
    """Classes, half sets and poses to start from (see :class:`RefineConfig`).

    Raises
    ------
    JimnetInputError
        Input classes outside ``1 … K`` or half sets other than 1/2.
    """
    n = len(particles)
    rng = np.random.default_rng(config.seed)
    table = particles.table
    star = particles.star_path
    classes = particles.class_numbers() if config.use_input_classes else None
    if classes is not None:
        bad = np.nonzero((classes < 1) | (classes > config.n_classes))[0]
        if bad.size:
            raise JimnetInputError(f"{star}: row {int(bad[0]) + 1}: rlnClassNumber "
                                   f"{int(classes[bad[0]])} outside 1…{config.n_classes}")
        classes = classes.astype(np.int64)
    else:
        classes = rng.integers(1, config.n_classes + 1, size=n)
    if HALF_COLUMN in table.columns:
        halves = table[HALF_COLUMN].to_numpy().astype(np.int64)
        bad = np.nonzero((halves != 1) & (halves != 2))[0]
        if bad.size:
            raise JimnetInputError(f"{star}: row {int(bad[0]) + 1}: {HALF_COLUMN} must be 1 or 2")
    else:
        halves = 1 + (rng.permutation(n) % 2)
    have_poses = config.use_input_poses and all(c in table.columns for c in POSE_COLUMNS)
    if have_poses:
        rot, shift = particles.poses()
    else:
        rot, shift = np.tile(np.eye(3), (n, 1, 1)), np.zeros((n, 3))
    return RefineState(0, classes, halves, rot, shift, np.full(n, np.nan), have_poses)


def _wedges(particles: ParticleSet, idx: NDArray) -> list[tuple[float, float]]:
    tilts = particles.tilt_ranges()
    return [(float(tilts[i, 0]), float(tilts[i, 1])) for i in idx]


def members_average(particles: ParticleSet, idx: NDArray, state: RefineState,
                    config: RefineConfig) -> torch.Tensor:
    """Wedge-weighted average (N, N, N) of particles ``idx`` at their poses in ``state``."""
    return wedge_weighted_average(particles.get_batch(idx), torch.as_tensor(state.rotations[idx]),
                                  torch.as_tensor(state.shifts[idx]), _wedges(particles, idx),
                                  floor=config.floor, symmetry=config.params.symmetry)


def half_references(particles: ParticleSet, state: RefineState, config: RefineConfig, half: int,
                    start: int = 0) -> dict[int, tuple[torch.Tensor, tuple[float, float] | None]]:
    """Class → (reference, its wedge) built from the particles of ``half`` only.

    Before poses exist a class's reference is one seeded member particle with its own wedge;
    afterwards the members' wedge-weighted average (complete: no wedge), during global rounds
    of the best-scoring ``config.top_fraction`` of them only. Classes without members in this
    half get no reference.
    """
    rng = np.random.default_rng([config.seed, half, state.iteration] + ([start] if start else []))
    refs = {}
    for k in range(1, config.n_classes + 1):
        idx = np.nonzero((state.halves == half) & (state.classes == k))[0]
        if idx.size == 0:
            continue
        if state.have_poses:
            if config.top_fraction < 1.0 and _in_global_rounds(state, config):
                idx = _best_scoring(idx, state.scores[idx], config.top_fraction)
            refs[k] = (members_average(particles, idx, state, config), None)
        else:
            i = int(rng.choice(idx))
            refs[k] = (particles.get_batch([i])[0], _wedges(particles, [i])[0])
    return refs


def _global_round_count(state: RefineState, config: RefineConfig) -> int:
    if config.global_rounds is not None:
        return config.global_rounds
    return 0 if state.have_poses and state.iteration == 0 else 1


def _in_global_rounds(state: RefineState, config: RefineConfig) -> bool:
    """Whether the round about to run from ``state`` searches globally."""
    return not state.have_poses or state.iteration < _global_round_count(state, config)


def _best_scoring(idx: NDArray, scores: NDArray, fraction: float) -> NDArray:
    """The ``ceil(fraction · len(idx))`` members with the highest finite scores (all, if none
    are scored yet: a state given with poses)."""
    if not np.isfinite(scores).any():
        return idx
    keep = max(1, math.ceil(fraction * len(idx)))
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    return np.sort(idx[order[:keep]])


def refine_iteration(particles: ParticleSet, state: RefineState, config: RefineConfig, *,
                     device: torch.device | str | None = None,
                     progress: Callable[[int], None] | None = None, start: int = 0
                     ) -> RefineState:
    """One round: align each half to its own class references, reassign, return the new state.

    ``start`` numbers the reference-free start (which seeded members are the first references).
    """
    n = len(particles)
    k_all = config.n_classes
    scores = np.full((n, k_all), -np.inf)
    rots = np.zeros((n, k_all, 3, 3))
    shifts = np.zeros((n, k_all, 3))
    local = not _in_global_rounds(state, config)
    for half in (1, 2):
        idx = np.nonzero(state.halves == half)[0]
        if idx.size == 0:
            continue
        for k, (ref, ref_wedge) in half_references(particles, state, config, half,
                                                   start).items():
            sel = idx if config.reassign else idx[state.classes[idx] == k]
            res = align_to_reference(
                iterate_batches(particles, sel, config.batch_size), ref, _wedges(particles, sel),
                reference_wedge=ref_wedge, method=config.method,
                params=config.search_params(k, local),
                device=device, batch_size=config.batch_size, progress=progress,
                initial_rotations=torch.as_tensor(state.rotations[sel]) if local else None,
                local_step=config.local_step)
            scores[sel, k - 1] = res.score.numpy()
            rots[sel, k - 1] = res.rotation.numpy()
            shifts[sel, k - 1] = res.shift.numpy()
    decide = centred_scores(scores, state.halves) if config.reassign and \
        config.score_rule == "centred" else scores
    best = decide.argmax(1)
    ar = np.arange(n)
    return RefineState(state.iteration + 1, best + 1, state.halves.copy(), rots[ar, best],
                       shifts[ar, best], scores[ar, best], True)


def centred_scores(scores: NDArray, halves: NDArray) -> NDArray[np.float64]:
    """Each class's scores minus their mean over the particles of the same half set.

    Parameters
    ----------
    scores : array, shape (n, K)
        Score of every particle against every class reference of its half set; ``-inf`` where
        a class has no reference in that half (kept ``-inf``).
    halves : int array, shape (n,)
        Half set of each particle (each half has its own references, so its own offsets).

    Returns
    -------
    array, shape (n, K)
        ``s - mean`` per (half, class). Only the offset is removed, not the spread: a reference
        that separates its members sharply keeps that advantage (z-scores, which divide by the
        spread as well, let a weakly separating, contaminated reference take particles from a
        sharp one in a two-class SNR-100 test; in scratch runs only).
    """
    centred = np.full(scores.shape, -np.inf)
    for h in np.unique(halves):
        rows = np.flatnonzero(halves == h)
        scored = np.isfinite(scores[rows]).all(0)
        block = scores[np.ix_(rows, np.flatnonzero(scored))]
        centred[np.ix_(rows, np.flatnonzero(scored))] = block - block.mean(0)
    return centred


def multi_start(particles: ParticleSet, state: RefineState, config: RefineConfig, *,
                device: torch.device | str | None = None,
                progress: Callable[[int], None] | None = None) -> RefineState:
    """``config.n_starts`` reference-free starts of ``config.start_rounds`` rounds; the best kept.

    Each start begins from other seeded member particles. A seed with too little signal leaves
    its half-class stuck in a wrong frame, fitted to noise. With fixed classes
    (``config.reassign`` false) the halves decide together, by the gold-standard criterion: per
    class, the half-1 start and half-2 start whose averages agree best (:func:`half_agreement`)
    are kept, since two independently refined halves only agree where both found the structure.
    With reassignment (classes move, so there are no fixed class averages to compare) the start
    with the highest mean score per half set is kept. The halves never mix.
    """
    rounds = min(config.start_rounds, config.n_iterations)
    trials = []
    for start in range(config.n_starts):
        trial = state
        for _ in range(rounds):
            trial = refine_iteration(particles, trial, config, device=device, progress=progress,
                                     start=start)
        trials.append(trial)
    first = trials[0]
    best = replace(first, classes=first.classes.copy(), rotations=first.rotations.copy(),
                   shifts=first.shifts.copy(), scores=first.scores.copy())

    def take(rows: NDArray, trial: RefineState) -> None:
        for name in ("classes", "rotations", "shifts", "scores"):
            getattr(best, name)[rows] = getattr(trial, name)[rows]

    def take_highest_mean(rows: NDArray) -> None:
        if rows.any():
            take(rows, max(trials, key=lambda t: float(t.scores[rows].mean())))

    if config.reassign:
        for h in (1, 2):
            take_highest_mean(state.halves == h)
        return best
    for k in range(1, config.n_classes + 1):
        rows = [(state.halves == h) & (state.classes == k) for h in (1, 2)]
        if not (rows[0].any() and rows[1].any()):  # one half only: nothing to agree with
            for r in rows:
                take_highest_mean(r)
            continue
        agreement = half_agreement(particles, trials, k, config)
        s1, s2 = np.unravel_index(int(np.argmax(agreement)), agreement.shape)
        take(rows[0], trials[s1])
        take(rows[1], trials[s2])
    return best


def half_agreement(particles: ParticleSet, trials: list[RefineState], k: int,
                   config: RefineConfig) -> NDArray[np.float64]:
    """Score of the best superposition of each start's half-2 average of class ``k`` onto each
    start's half-1 average: array (S, S), rows half-1 starts, columns half-2 starts."""
    maps = [[members_average(particles, np.nonzero((t.halves == h) & (t.classes == k))[0], t,
                             config) for t in trials] for h in (1, 2)]
    params = config.search_params(k)
    return np.array([[float(align(m2, m1, method=config.method, params=params).score)
                      for m2 in maps[1]] for m1 in maps[0]])


def common_frame(particles: ParticleSet, state: RefineState, config: RefineConfig
                 ) -> RefineState:
    """The state with every class's half-2 poses moved into its half-1 frame.

    The halves are refined independently, so each has its own frame (the frame of its initial
    reference). Per class, the half-2 average is aligned onto the half-1 average
    (``rigid_transform(m2, T) ≈ m1``) and each half-2 pose ``T_p`` becomes ``T_p ∘ T⁻¹``.
    """
    rot, shift = state.rotations.copy(), state.shifts.copy()
    for k in range(1, config.n_classes + 1):
        i1 = np.nonzero((state.classes == k) & (state.halves == 1))[0]
        i2 = np.nonzero((state.classes == k) & (state.halves == 2))[0]
        if i1.size == 0 or i2.size == 0:
            continue
        m1 = members_average(particles, i1, state, config)
        m2 = members_average(particles, i2, state, config)
        t = align(m2, m1, method=config.method, params=config.search_params(k))
        inv_r, inv_t = invert_pose(t.rotation.numpy(), t.shift.numpy())
        rot[i2], shift[i2] = compose_poses(rot[i2], shift[i2], inv_r, inv_t)
    return RefineState(state.iteration, state.classes, state.halves, rot, shift, state.scores,
                       state.have_poses)


def class_maps(particles: ParticleSet, state: RefineState, config: RefineConfig
               ) -> tuple[RefineState, dict, dict, dict]:
    """Common-frame state, full maps, half maps and half-map FSC resolutions (Å) per class.

    The half maps are built in the common frame (:func:`common_frame`), so their FSC compares
    aligned maps; each is still made from its own half's particles only.
    """
    state = common_frame(particles, state, config)
    averages, halves_out, resolutions = {}, {}, {}
    for k in range(1, config.n_classes + 1):
        members = state.classes == k
        if not members.any():
            continue
        averages[k] = members_average(particles, np.nonzero(members)[0], state, config)
        maps = []
        for h in (1, 2):
            idx = np.nonzero(members & (state.halves == h))[0]
            maps.append(members_average(particles, idx, state, config) if idx.size else None)
        halves_out[k] = tuple(maps)
        if maps[0] is not None and maps[1] is not None:
            resolutions[k] = compute_fsc(maps[0], maps[1], particles.pixel_size).resolution
    return state, averages, halves_out, resolutions


def refine(particles: ParticleSet, config: RefineConfig, work_dir: str | os.PathLike, *,
           resume: bool = False, device: torch.device | str | None = None,
           progress: Callable[[int, int], None] | None = None,
           log: Callable[[dict], None] | None = None,
           initial: RefineState | None = None,
           log_resolutions: bool = True) -> RefineResult:
    """Run (or resume) multi-reference refinement; checkpoints and log go to ``work_dir``.

    Parameters
    ----------
    particles : ParticleSet
    config : RefineConfig
    work_dir : path-like
        Receives ``checkpoint.npz`` (after every iteration) and ``refine_log.jsonl`` (one JSON
        object per iteration: ``iteration``, ``class_sizes``, ``mean_score``,
        ``resolution_angstrom`` per class, ``wall_s``).
    resume : bool
        Continue from ``work_dir/checkpoint.npz`` if it exists.
    device : torch.device or str, optional
    progress : callable, optional
        ``progress(done, total)`` in particle alignments over the whole run.
    log : callable, optional
        Called with each iteration's log record.
    initial : RefineState, optional
        Starting state (:func:`state_from`) instead of the STAR's columns
        (:func:`initial_state`); ignored when resuming from a checkpoint.
    log_resolutions : bool
        Build the half maps after every iteration for the log's resolutions (about one pass
        over the particles per iteration); ``False`` logs ``null`` resolutions and builds the
        maps once, at the end.

    Returns
    -------
    RefineResult
    """
    work = Path(work_dir)
    ckpt = work / CHECKPOINT
    state = RefineState.load(ckpt) if resume and ckpt.exists() else None
    source = ckpt
    if state is None:
        state = initial if initial is not None else initial_state(particles, config)
        source = "initial state"
        (work / LOG).unlink(missing_ok=True)
    if len(state.classes) != len(particles):
        raise JimnetInputError(f"{source}: {len(state.classes)} particles, the STAR file "
                               f"{len(particles)}")
    work.mkdir(parents=True, exist_ok=True)  # only once the input is known to be valid
    per_round = len(particles) * (config.n_classes if config.reassign else 1)
    starting = config.n_starts > 1 and not state.have_poses and state.iteration == 0
    extra = (config.n_starts - 1) * min(config.start_rounds, config.n_iterations) if starting \
        else 0
    total = (config.n_iterations + extra) * per_round
    done = state.iteration * per_round

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(min(done, total), total)

    while state.iteration < config.n_iterations:
        t0 = time.perf_counter()
        if starting:
            state = multi_start(particles, state, config, device=device, progress=tick)
            starting = False
        else:
            state = refine_iteration(particles, state, config, device=device, progress=tick)
        res = class_maps(particles, state, config)[3] if log_resolutions else {}
        record = {
            "iteration": state.iteration,
            "class_sizes": {str(k): int((state.classes == k).sum())
                            for k in range(1, config.n_classes + 1)},
            "half_sizes": {str(h): int((state.halves == h).sum()) for h in (1, 2)},
            "mean_score": float(np.nanmean(state.scores)),
            "resolution_angstrom": {str(k): (None if not math.isfinite(v) else round(v, 3))
                                    for k, v in res.items()} or None,
            "wall_s": round(time.perf_counter() - t0, 2),
        }
        text = (work / LOG).read_text() if (work / LOG).exists() else ""
        atomic_write_text(work / LOG, text + json.dumps(record) + "\n", force=True)
        state.save(ckpt)
        if log is not None:
            log(record)
    final, averages, half_maps, resolutions = class_maps(particles, state, config)
    return RefineResult(final, averages, half_maps, resolutions)


def write_refinement(result: RefineResult, particles: ParticleSet, out_dir: str | os.PathLike
                     ) -> list[Path]:
    """Write the STAR file, class maps, half maps and FSC (CSV + PNG) into ``out_dir``.

    ``particles.star`` keeps every input column; poses, ``rlnClassNumber``,
    ``rlnRandomSubset`` and ``jimnetAlignScore`` are set. Each file is written atomically
    (replacing an older one). Maps: ``class_NNN.mrc``, ``class_NNN_half{1,2}.mrc``; FSC:
    ``fsc_NNN.csv`` and ``fsc.png``.

    Returns
    -------
    list of pathlib.Path
        Files written.
    """
    from jimnet.average.fsc import plot_fsc
    from jimnet.io import write_particle_star, write_volume

    out = Path(out_dir)
    st = result.state
    voxel = particles.pixel_size
    star = particles.updated_star(out / "particles.star", rotations=st.rotations,
                                  shifts=st.shifts, class_numbers=st.classes)
    star.particles[HALF_COLUMN] = st.halves
    star.particles[SCORE_COLUMN] = st.scores
    written = [write_particle_star(out / "particles.star", star, force=True)]

    def volume(name: str, vol: torch.Tensor) -> None:
        written.append(write_volume(out / name, vol.numpy(), voxel, force=True))

    curves = {}
    for k, avg in result.averages.items():
        volume(f"class_{k:03d}.mrc", avg)
        maps = result.half_maps[k]
        for h, half in enumerate(maps, start=1):
            if half is not None:
                volume(f"class_{k:03d}_half{h}.mrc", half)
        if maps[0] is not None and maps[1] is not None:
            fsc = compute_fsc(maps[0], maps[1], voxel)
            curves[f"class {k}"] = fsc
            written.append(atomic_write_text(out / f"fsc_{k:03d}.csv", fsc.to_csv(), force=True))
    if curves:
        with atomic_write(out / "fsc.png", force=True) as tmp:
            plot_fsc(curves, tmp, title="half-map FSC (gold standard)")
        written.append(out / "fsc.png")
    return written
