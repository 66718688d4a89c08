r"""The wedge-constrained correlation score (SIMULATION_AND_BASELINES.md §2.1–2.2), batched.

For a source ``f`` (rotated by ``R`` and shifted by ``t``) and a target ``g``, with observed-region
weights ``W_f, W_g`` given in each volume's own frame, the jointly observed region is
``Ω(k) = W_g(k) · W_f(Rᵀk) · band(k)`` and

    c(R, t) = Re Σ_k Ω G(k) conj(F(Rᵀk)) e^{+2πi k·t/N} / sqrt(Σ_k Ω|G|² · Σ_k Ω|F(Rᵀk)|²),

the Pearson correlation of ``g`` and ``rigid_transform(f, R, t)`` after both are restricted to the
region both observed. For a fixed ``R`` all shifts come from one inverse FFT on the working box;
the denominator does not depend on ``t``. ``argmax_t c(R, t)`` is the shift that maps the rotated
source onto the target, so ``(R, t)`` is the pose with ``rigid_transform(f, R, t) ≈ g``.

The translation-invariant **amplitude score** of H-T align (§2.2 step 3) uses ``A = |F|`` (or the
power ``|F|²`` for F&A's seeds):

    s(R) = Σ Ω A_g A_f(Rᵀk) / sqrt(Σ Ω A_g² · Σ Ω A_f(Rᵀk)²).

All sums run over the full spectrum (half-space samples with Hermitian weights) within the band
``r_lo ≤ |k| ≤ r_hi`` (cycles per box; the DC term is always excluded).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from jimnet.align.spectra import FourierPoints, centred_spectrum, fourier_points, sample_rotated
from jimnet.align.wedge import WedgeSet


@dataclass
class PreparedPairs:
    """Spectra of ``P`` (source, target) pairs, computed once and reused by every level.

    Attributes
    ----------
    n : int
        Box size ``N``.
    pad : int
        Padding factor of the source spectra.
    source : torch.Tensor, shape (Ps, 2, S, S, S)
        Real and imaginary parts of the padded, gridding-corrected centred source spectra
        (``Ps`` is ``P`` or 1 for a source shared by all pairs).
    source_amplitude : torch.Tensor, shape (Ps, 1, S, S, S)
        ``|F|`` of the same spectra.
    target : torch.Tensor, complex, shape (P, N, N, N)
        Centred target spectra on the ``N``-grid (shifted layout).
    wedge_source, wedge_target : WedgeSet
        Observed regions in each volume's own frame.
    source_centre, target_centre : torch.Tensor or None, shapes (Ps, 3) and (P, 3)
        Estimated particle centres (voxels from ``N // 2``, zyx), if known.
    """

    n: int
    pad: int
    source: torch.Tensor
    source_amplitude: torch.Tensor
    target: torch.Tensor
    wedge_source: WedgeSet
    wedge_target: WedgeSet
    source_centre: torch.Tensor | None = None
    target_centre: torch.Tensor | None = None
    _levels: dict[tuple, Level] = field(default_factory=dict, repr=False)

    @property
    def n_pairs(self) -> int:
        """Number of pairs ``P``."""
        return self.target.shape[0]

    @classmethod
    def build(
        cls,
        source: torch.Tensor,
        target: torch.Tensor,
        wedge_source: WedgeSet,
        wedge_target: WedgeSet,
        *,
        pad: int = 2,
        source_centre: torch.Tensor | None = None,
        target_centre: torch.Tensor | None = None,
    ) -> PreparedPairs:
        """Prepare pre-processed real volumes (see :func:`jimnet.align.search.preprocess`).

        Parameters
        ----------
        source : torch.Tensor, shape (Ps, N, N, N)
            ``Ps`` = ``P`` or 1 (shared source, e.g. a reference map).
        target : torch.Tensor, shape (P, N, N, N)
        wedge_source, wedge_target : WedgeSet
            For ``Ps`` and ``P`` volumes.
        pad : int
            Padding factor of the source spectra (2 is accurate; 1 is faster and coarser).
        source_centre, target_centre : torch.Tensor, optional
            Estimated particle centres, shapes (Ps, 3) and (P, 3).
        """
        n = target.shape[-1]
        spec = centred_spectrum(source, pad, gridding=True)
        grid = torch.stack([spec.real, spec.imag], 1).contiguous()
        amp = spec.abs()[:, None].contiguous()
        return cls(n, pad, grid, amp, centred_spectrum(target, 1), wedge_source, wedge_target,
                   source_centre, target_centre)

    def level(self, box: int, r_lo: float, r_hi: float, max_shift: float | None) -> Level:
        """The cached :class:`Level` for a working box, band and maximum shift."""
        key = (box, r_lo, r_hi, max_shift)
        if key not in self._levels:
            self._levels[key] = Level.build(self, box, r_lo, r_hi, max_shift)
        return self._levels[key]


@dataclass
class Level:
    """Per-band quantities of the targets (fixed frame) on a working box.

    Attributes
    ----------
    points : FourierPoints
    target_re, target_im : torch.Tensor, shape (P, n)
        ``G(k)`` at the samples (real and imaginary parts).
    target_power : torch.Tensor, shape (P, n)
        ``|G(k)|²``.
    target_wedge : torch.Tensor, shape (P, n)
        ``W_g(k)`` at the samples.
    shifts : torch.Tensor, shape (M, M, M, 3)
        Shift (zyx, voxels of the ``N``-box) represented by each index of a correlation map.
    allowed : torch.Tensor, bool, shape (M, M, M)
        Shifts within the maximum-shift radius.
    max_shift : float or None
        That radius (voxels).
    """

    points: FourierPoints
    target_re: torch.Tensor
    target_im: torch.Tensor
    target_power: torch.Tensor
    target_wedge: torch.Tensor
    shifts: torch.Tensor
    allowed: torch.Tensor
    max_shift: float | None = None

    @classmethod
    def build(
        cls, prep: PreparedPairs, box: int, r_lo: float, r_hi: float, max_shift: float | None
    ) -> Level:
        """Gather the targets' spectra and wedges at the band's samples."""
        device = prep.target.device
        dtype = prep.source.dtype
        pts = fourier_points(box, r_lo, r_hi, dtype=dtype, device=device)
        n = prep.n
        idx = pts.k.round().long() + n // 2
        tgt = prep.target[:, idx[:, 0], idx[:, 1], idx[:, 2]]
        eye = torch.eye(3, dtype=dtype, device=device).expand(prep.n_pairs, 1, 3, 3)
        wt = prep.wedge_target.at_points(pts, eye)[:, 0]
        signed = torch.fft.fftfreq(box, d=1.0 / box, dtype=dtype, device=device) * (n / box)
        grid = torch.stack(torch.meshgrid(signed, signed, signed, indexing="ij"), -1)
        allowed = torch.ones(grid.shape[:3], dtype=torch.bool, device=device)
        if max_shift is not None:
            allowed = grid.norm(dim=-1) <= max_shift + 1e-6
        return cls(pts, tgt.real.contiguous(), tgt.imag.contiguous(), tgt.abs() ** 2, wt, grid,
                   allowed, max_shift)


def _chunks(b: int, chunk: int) -> Iterator[slice]:
    for start in range(0, b, chunk):
        yield slice(start, min(b, start + chunk))


def _source_at(
    prep: PreparedPairs, pts: FourierPoints, rot: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary parts of ``F(Rᵀk)``, each of shape (Ps, b, n)."""
    vals = sample_rotated(prep.source, pts.k, rot, float(prep.pad))
    return vals[:, :, 0], vals[:, :, 1]


def _overlap(prep: PreparedPairs, level: Level, rot: torch.Tensor) -> torch.Tensor:
    """Joint observed region ``Ω`` at the samples, shape (P, b, n)."""
    return prep.wedge_source.at_points(level.points, rot) * level.target_wedge[:, None]


def _norm(level: Level, omega: torch.Tensor, s_re: torch.Tensor, s_im: torch.Tensor
          ) -> torch.Tensor:
    """``sqrt(Σ Ω|G|² · Σ Ω|F_R|²)`` over the full spectrum, shape (P, b)."""
    w = omega * level.points.weight
    e_t = (w * level.target_power[:, None]).sum(-1)
    e_s = (w * (s_re * s_re + s_im * s_im)).sum(-1)
    return (e_t * e_s).clamp_min(torch.finfo(e_t.dtype).tiny).sqrt()


def _cross(level: Level, omega: torch.Tensor, s_re: torch.Tensor, s_im: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """``Ω·G·conj(F_R)`` as (real, imaginary), each (P, b, n)."""
    t_re, t_im = level.target_re[:, None], level.target_im[:, None]
    return omega * (t_re * s_re + t_im * s_im), omega * (t_im * s_re - t_re * s_im)


def _subvoxel(cmap: torch.Tensor, flat_idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Parabolic peak refinement per axis on periodic maps.

    Parameters
    ----------
    cmap : torch.Tensor, shape (Q, M, M, M)
    flat_idx : torch.Tensor, shape (Q,)

    Returns
    -------
    offset : torch.Tensor, shape (Q, 3)
        Sub-sample offsets in map samples, each in [−0.5, 0.5].
    gain : torch.Tensor, shape (Q,)
        Increase of the interpolated peak over the sampled maximum (≥ 0).
    """
    m = cmap.shape[-1]
    iz, iy, ix = flat_idx // (m * m), (flat_idx // m) % m, flat_idx % m
    q = torch.arange(cmap.shape[0], device=cmap.device)
    c0 = cmap[q, iz, iy, ix]
    offsets, gain = [], torch.zeros_like(c0)
    for axis, base in enumerate((iz, iy, ix)):
        lo_i, hi_i = [iz, iy, ix], [iz, iy, ix]
        lo_i[axis] = (base - 1) % m
        hi_i[axis] = (base + 1) % m
        cm = cmap[q, lo_i[0], lo_i[1], lo_i[2]]
        cp = cmap[q, hi_i[0], hi_i[1], hi_i[2]]
        curv = cm - 2.0 * c0 + cp
        ok = curv < 0
        safe = torch.where(ok, curv, -torch.ones_like(curv))
        off = torch.where(ok, 0.5 * (cm - cp) / safe, torch.zeros_like(curv)).clamp(-0.5, 0.5)
        offsets.append(off)
        gain = gain + torch.where(ok, -0.125 * (cm - cp) ** 2 / safe, torch.zeros_like(curv))
    return torch.stack(offsets, -1), gain


def correlation_scores(
    prep: PreparedPairs,
    level: Level,
    rotations: torch.Tensor,
    *,
    chunk: int = 256,
    newton_steps: int = 2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best constrained correlation over shifts for every rotation (one inverse FFT each).

    Parameters
    ----------
    prep : PreparedPairs
    level : Level
        Working box, band and maximum shift.
    rotations : torch.Tensor, shape (P or 1, B, 3, 3)
        Candidate rotations of the source (shared by all pairs when the first dim is 1).
    chunk : int
        Rotations per batch (memory ∝ P·chunk·M³).
    newton_steps : int
        Newton refinements of the sub-voxel shift after the parabolic peak fit.

    Returns
    -------
    score : torch.Tensor, shape (P, B)
        ``max_t c(R, t)``, evaluated exactly at the refined sub-voxel shift.
    shift : torch.Tensor, shape (P, B, 3)
        The maximising ``t`` (zyx, voxels of the ``N``-box), sub-voxel.
    """
    p = prep.n_pairs
    pts = level.points
    m = pts.box
    scores, shifts = [], []
    step = level.shifts[1, 1, 1] - level.shifts[0, 0, 0]  # N / M per axis
    not_allowed = ~level.allowed
    restrict = not bool(level.allowed.all())
    max_shift = level.max_shift
    for sl in _chunks(rotations.shape[1], chunk):
        rot = rotations[:, sl]
        b = rot.shape[1]
        s_re, s_im = _source_at(prep, pts, rot)
        omega = _overlap(prep, level, rot)
        x_re, x_im = _cross(level, omega, s_re, s_im)
        norm = _norm(level, omega, s_re, s_im)
        spec = x_re.new_zeros(p, b, m * m * (m // 2 + 1), 2)
        spec[:, :, pts.index, 0] = x_re
        spec[:, :, pts.index, 1] = x_im
        spec = torch.view_as_complex(spec).reshape(p, b, *pts.rfft_shape)
        cmap = torch.fft.irfftn(spec, s=(m, m, m), dim=(-3, -2, -1))
        cmap = cmap * (m**3 / norm[..., None, None, None])
        cmap = cmap.reshape(p * b, m, m, m)
        flat = cmap.masked_fill(not_allowed, float("-inf")) if restrict else cmap
        idx = flat.flatten(1).argmax(dim=1)
        off, _ = _subvoxel(cmap, idx)
        shift = (level.shifts.reshape(-1, 3)[idx] + off * step).reshape(p, b, 3)
        score, shift = _polish_shift(prep.n, pts, x_re, x_im, norm, shift, newton_steps)
        if restrict:  # keep the polished shift inside the allowed ball
            shift = _within(shift, max_shift)
        scores.append(score)
        shifts.append(shift)
    return torch.cat(scores, 1), torch.cat(shifts, 1)


def _within(shift: torch.Tensor, max_shift: float | None) -> torch.Tensor:
    """Shifts (..., 3) scaled back onto the ball of radius ``max_shift`` where longer."""
    assert max_shift is not None
    length = shift.norm(dim=-1, keepdim=True)
    return shift * (max_shift / length.clamp_min(max_shift)).clamp(max=1.0)


def _polish_shift(
    n: int,
    pts: FourierPoints,
    x_re: torch.Tensor,
    x_im: torch.Tensor,
    norm: torch.Tensor,
    shift: torch.Tensor,
    steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Newton steps on ``c(t)`` from a sampled peak, and the exact score at the final shift.

    ``c(t) = Σ w Re(X e^{iφ}) / norm`` with ``φ = 2π k·t/N``; gradient
    ``−Σ w (2πk/N) Im(X e^{iφ})``, Hessian ``−Σ w (2π/N)² k kᵀ Re(X e^{iφ})``. A step is taken
    only where the Hessian is negative definite and the step is shorter than 1 voxel, so the
    result never leaves the sampled peak. Peak heights are evaluated exactly (no extrapolation
    from the sampled map), so rotations compare fairly whatever the sub-voxel shift.

    Returns
    -------
    score : torch.Tensor, shape (P, b)
    shift : torch.Tensor, shape (P, b, 3)
    """
    kk = (2.0 * torch.pi / n) * pts.k  # (n, 3)
    outer = (kk[:, :, None] * kk[:, None, :]).reshape(-1, 9)  # (n, 9)
    wre, wim = x_re * pts.weight, x_im * pts.weight

    def rotated(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ang = torch.matmul(t, kk.T)  # (P, b, n)
        c, s_ = torch.cos(ang), torch.sin(ang)
        return wre * c - wim * s_, wre * s_ + wim * c  # Re, Im of w·X·e^{iφ}

    for _ in range(steps):
        y_re, y_im = rotated(shift)
        grad = -torch.matmul(y_im, kk)  # (P, b, 3)
        hess = -torch.matmul(y_re, outer).reshape(*shift.shape[:2], 3, 3)
        ok = torch.linalg.eigvalsh(hess).amax(-1) < 0
        safe = torch.where(ok[..., None, None], hess, -torch.eye(3, dtype=hess.dtype,
                                                                device=hess.device))
        delta = -torch.linalg.solve(safe, grad[..., None])[..., 0]
        ok = ok & (delta.norm(dim=-1) < 1.0)
        shift = torch.where(ok[..., None], shift + delta, shift)
    y_re, _ = rotated(shift)
    return y_re.sum(-1) / norm, shift


def correlation_near_shift(
    prep: PreparedPairs,
    level: Level,
    rotations: torch.Tensor,
    shift: torch.Tensor,
    *,
    chunk: int = 512,
    newton_steps: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Constrained correlation maximised over shifts *near* a given shift (no FFT).

    The local counterpart of :func:`correlation_scores` for rotations close to one whose shift is
    known: the shift is polished by Newton steps from ``shift`` (accepted only inside a concave
    region, moves below 1 voxel) and the score is evaluated exactly there.

    Parameters
    ----------
    rotations : torch.Tensor, shape (P or 1, B, 3, 3)
    shift : torch.Tensor, shape (P, B, 3)
        Starting shifts (zyx, voxels of the ``N``-box).

    Returns
    -------
    score : torch.Tensor, shape (P, B)
    shift : torch.Tensor, shape (P, B, 3)
    """
    pts = level.points
    scores, shifts = [], []
    for sl in _chunks(rotations.shape[1], chunk):
        rot = rotations[:, sl]
        s_re, s_im = _source_at(prep, pts, rot)
        omega = _overlap(prep, level, rot)
        x_re, x_im = _cross(level, omega, s_re, s_im)
        norm = _norm(level, omega, s_re, s_im)
        sc, sh = _polish_shift(prep.n, pts, x_re, x_im, norm, shift[:, sl], newton_steps)
        if level.max_shift is not None:
            sh = _within(sh, level.max_shift)
        scores.append(sc)
        shifts.append(sh)
    return torch.cat(scores, 1), torch.cat(shifts, 1)


def correlation_at_shift(
    prep: PreparedPairs,
    level: Level,
    rotations: torch.Tensor,
    shift: torch.Tensor,
    *,
    chunk: int = 512,
) -> torch.Tensor:
    """Constrained correlation ``c(R, t)`` at a given shift for every rotation (no FFT).

    Parameters
    ----------
    rotations : torch.Tensor, shape (P or 1, B, 3, 3)
    shift : torch.Tensor, shape (P, 3) or (P, B, 3)
        Shifts (zyx, voxels of the ``N``-box).

    Returns
    -------
    torch.Tensor, shape (P, B)
    """
    pts = level.points
    if shift.ndim == 2:
        shift = shift[:, None]
    out = []
    for sl in _chunks(rotations.shape[1], chunk):
        rot = rotations[:, sl]
        t = shift if shift.shape[1] == 1 else shift[:, sl]
        s_re, s_im = _source_at(prep, pts, rot)
        omega = _overlap(prep, level, rot)
        x_re, x_im = _cross(level, omega, s_re, s_im)
        angle = (2.0 * torch.pi / prep.n) * torch.matmul(t, pts.k.T)  # (P, b|1, n)
        cross = (x_re * torch.cos(angle) - x_im * torch.sin(angle)) * pts.weight
        out.append(cross.sum(-1) / _norm(level, omega, s_re, s_im))
    return torch.cat(out, 1)


def amplitude_scores(
    prep: PreparedPairs,
    level: Level,
    rotations: torch.Tensor,
    *,
    power: bool = False,
    chunk: int = 1024,
) -> torch.Tensor:
    """Translation-invariant constrained amplitude (or power-spectrum) score of every rotation.

    Parameters
    ----------
    rotations : torch.Tensor, shape (P or 1, B, 3, 3)
    power : bool
        Use ``|F|²`` (F&A's power-spectrum seeds) instead of ``|F|`` (H-T align).

    Returns
    -------
    torch.Tensor, shape (P, B)
    """
    pts = level.points
    a_t = level.target_power.sqrt()
    if power:
        a_t = a_t**2
    out = []
    for sl in _chunks(rotations.shape[1], chunk):
        rot = rotations[:, sl]
        a_s = sample_rotated(prep.source_amplitude, pts.k, rot, float(prep.pad))[:, :, 0]
        if power:
            a_s = a_s**2
        omega = _overlap(prep, level, rot) * pts.weight
        num = (omega * a_t[:, None] * a_s).sum(-1)
        e_t = (omega * a_t[:, None] ** 2).sum(-1)
        e_s = (omega * a_s**2).sum(-1)
        out.append(num / (e_t * e_s).clamp_min(torch.finfo(num.dtype).tiny).sqrt())
    return torch.cat(out, 1)
