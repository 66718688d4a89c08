"""Deterministic rotation grids on SO(3): a uniform global grid and local grids around rotations.

The global grid is a **super-Fibonacci spiral** (Alexa 2022, "Super-Fibonacci spirals: fast,
low-discrepancy sampling of SO(3)", CVPR): ``n`` unit quaternions
``q_i = (r sin α_i, r cos α_i, R sin β_i, R cos β_i)`` with ``s = i + ½``, ``r = √(s/n)``,
``R = √(1 − s/n)``, ``α_i = 2πs/φ``, ``β_i = 2πs/ψ`` (``φ = √2``, ``ψ⁴ = ψ + 4``). It is
dependency-free, deterministic and nearly as uniform as a Hopf/HEALPix grid.

"Angular step" ``Δ`` means the grid has ``n = ⌈8π²/Δ³⌉`` rotations (Δ in radians): SO(3) with the
geodesic-angle metric has volume 8π² and is locally Euclidean, so each rotation owns a cell of
volume ``Δ³`` on average (15° → 4,401 rotations, 10° → 14,851). Uniformity does not depend on the
axis order, so the matrices are valid as zyx matrices (jimnet's convention).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from numpy.typing import NDArray

_PHI = math.sqrt(2.0)
_PSI = 1.533751168755204288118041  # real root of ψ⁴ = ψ + 4


def grid_size(step_deg: float) -> int:
    """Number of rotations of the uniform grid at angular step ``step_deg`` (``⌈8π²/Δ³⌉``)."""
    if step_deg <= 0:
        raise ValueError(f"angular step must be positive, got {step_deg}")
    delta = math.radians(step_deg)
    return max(1, math.ceil(8.0 * math.pi**2 / delta**3))


def super_fibonacci_quaternions(n: int) -> NDArray[np.float64]:
    """``n`` unit quaternions ``(x, y, z, w)`` of the super-Fibonacci spiral (Alexa 2022).

    Returns
    -------
    numpy.ndarray, shape (n, 4)
    """
    s = np.arange(n, dtype=np.float64) + 0.5
    r = np.sqrt(s / n)
    big_r = np.sqrt(1.0 - s / n)
    alpha = 2.0 * np.pi * s / _PHI
    beta = 2.0 * np.pi * s / _PSI
    return np.stack(
        [r * np.sin(alpha), r * np.cos(alpha), big_r * np.sin(beta), big_r * np.cos(beta)], -1
    )


def quaternion_to_matrix(q: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotation matrices of unit quaternions ``(x, y, z, w)`` (scalar last). (n, 4) → (n, 3, 3)."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


@lru_cache(maxsize=8)
def _uniform_grid_cached(n: int) -> NDArray[np.float64]:
    out = quaternion_to_matrix(super_fibonacci_quaternions(n))
    out.setflags(write=False)
    return out


def uniform_rotations(step_deg: float) -> NDArray[np.float64]:
    """Uniform deterministic grid of rotations at angular step ``step_deg`` (degrees).

    Parameters
    ----------
    step_deg : float
        Angular step Δ; the grid has :func:`grid_size` ``(Δ)`` rotations. Every rotation of SO(3)
        lies within about ``0.9 Δ`` (geodesic angle) of a grid rotation.

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
        Rotation matrices (``det = +1``), the identity not necessarily included.
    """
    return _uniform_grid_cached(grid_size(step_deg)).copy()


def axis_angle_to_matrix(omega: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: rotation vectors (radians) → matrices. (..., 3) → (..., 3, 3)."""
    theta = omega.norm(dim=-1, keepdim=True)[..., None]  # (..., 1, 1)
    zero = torch.zeros_like(omega[..., 0])
    wx, wy, wz = omega.unbind(-1)
    k = torch.stack(
        [
            torch.stack([zero, -wz, wy], -1),
            torch.stack([wz, zero, -wx], -1),
            torch.stack([-wy, wx, zero], -1),
        ],
        -2,
    )
    small = theta < 1e-8
    safe = torch.where(small, torch.ones_like(theta), theta)
    a = torch.where(small, 1.0 - theta**2 / 6.0, torch.sin(safe) / safe)
    b = torch.where(small, 0.5 - theta**2 / 24.0, (1.0 - torch.cos(safe)) / safe**2)
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device).expand_as(k)
    return eye + a * k + b * (k @ k)


def _lattice(half_width: int) -> torch.Tensor:
    """Integer lattice ``{−m … m}³`` as (K, 3) float64, origin first, then by distance."""
    r = torch.arange(-half_width, half_width + 1, dtype=torch.float64)
    omega = torch.stack(torch.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    return omega[torch.argsort(omega.norm(dim=-1), stable=True)]


def local_offsets(step_deg: float, half_width: int = 1) -> torch.Tensor:
    """Cubic lattice of small rotations ``exp([ω]ₓ)``, ``ω ∈ step·{−m … m}³`` (identity first).

    Parameters
    ----------
    step_deg : float
        Lattice step in degrees.
    half_width : int
        ``m``; the lattice has ``(2m + 1)³`` rotations.

    Returns
    -------
    torch.Tensor, shape ((2m + 1)³, 3, 3), float64
    """
    return axis_angle_to_matrix(_lattice(half_width) * math.radians(step_deg))


def local_rotations(
    centres: torch.Tensor, step_deg: float | torch.Tensor, half_width: int = 1
) -> torch.Tensor:
    """Local grids ``exp([ω]ₓ) · R_c`` around each centre rotation (identity offset first).

    Parameters
    ----------
    centres : torch.Tensor, shape (..., 3, 3)
    step_deg : float or torch.Tensor, shape (...)
        Lattice step in degrees, one per centre or shared.
    half_width : int
        ``m``; each local grid has ``(2m + 1)³`` rotations.

    Returns
    -------
    torch.Tensor, shape (..., (2m + 1)³, 3, 3)
        Same dtype/device as ``centres``.
    """
    lattice = _lattice(half_width).to(centres)  # (K, 3)
    step = torch.as_tensor(step_deg, dtype=centres.dtype, device=centres.device)
    omega = lattice * torch.deg2rad(step)[..., None, None]  # (..., K, 3)
    return axis_angle_to_matrix(omega) @ centres[..., None, :, :]


def rotation_angle_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle (radians) between rotations, broadcasting ``(..., 3, 3)`` → ``(...)``."""
    trace = (a * b).sum(dim=(-2, -1))  # tr(aᵀ b)
    return torch.arccos(((trace - 1.0) / 2.0).clamp(-1.0, 1.0))


def select_peaks(
    rotations: torch.Tensor, scores: torch.Tensor, k: int, min_angle_deg: float,
    symmetry: torch.Tensor | None = None,
) -> torch.Tensor:
    """Greedy non-maximum suppression on SO(3): indices of up to ``k`` local score maxima.

    Rotations are taken in decreasing score order; one closer than ``min_angle_deg`` (geodesic)
    to an already selected rotation is skipped. With ``min_angle_deg`` ≈ 1.5–2 grid steps this
    keeps the distinct local peaks of a score over a uniform grid (H-T align's "local maxima").

    Parameters
    ----------
    rotations : torch.Tensor, shape (n, 3, 3)
    scores : torch.Tensor, shape (..., n)
        One score per rotation; leading dims are independent problems.
    k : int
        Maximum number of peaks per problem.
    min_angle_deg : float
        Suppression radius in degrees.
    symmetry : torch.Tensor, shape (G, 3, 3), optional
        Point group of the source: ``R`` is suppressed when it lies within the radius of any
        mate ``R_j g`` of a selected rotation, so the peaks are distinct modulo the symmetry.

    Returns
    -------
    torch.Tensor, shape (..., k), int64
        Indices into ``rotations``, best first. If fewer than ``k`` rotations survive the
        suppression, the list is padded with the best remaining (suppressed) ones.
    """
    lead = scores.shape[:-1]
    flat = scores.reshape(-1, scores.shape[-1])
    n = flat.shape[-1]
    k = min(k, n)
    cos_thr = math.cos(math.radians(min_angle_deg))
    rot_flat = rotations.reshape(n, 9)
    group = None if symmetry is None or symmetry.shape[0] == 1 else symmetry.to(rotations)
    # Pre-sort and only look at a modest prefix: peaks come from the top of the list.
    pool = min(n, max(64 * k, 512))
    order = torch.argsort(flat, dim=-1, descending=True)[:, :pool]
    out = torch.empty(flat.shape[0], k, dtype=torch.int64, device=scores.device)
    for p in range(flat.shape[0]):
        cand = order[p]
        cand_rot = rot_flat[cand]  # (pool, 9)
        # cos of the angle between rotations: (tr(AᵀB) − 1)/2
        alive = torch.ones(cand.shape[0], dtype=torch.bool, device=scores.device)
        chosen: list[int] = []
        for _ in range(k):
            idx = torch.nonzero(alive)
            if idx.numel() == 0:
                break
            j = int(idx[0, 0])
            chosen.append(j)
            if group is None:
                cos_ang = ((cand_rot @ cand_rot[j]) - 1.0) / 2.0
            else:  # the nearest mate R_j g of the chosen rotation
                mates = (cand_rot[j].reshape(3, 3) @ group).reshape(-1, 9)  # (G, 9)
                cos_ang = ((cand_rot @ mates.T).amax(-1) - 1.0) / 2.0
            alive &= cos_ang < cos_thr
        if len(chosen) < k:  # pad with the best not yet chosen
            rest = [j for j in range(cand.shape[0]) if j not in set(chosen)]
            chosen.extend(rest[: k - len(chosen)])
        out[p] = cand[torch.as_tensor(chosen, device=scores.device)]
    return out.reshape(*lead, k)


def _quadratic_design(half_width: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Lattice (K, 3) and the least-squares solver (10, K) of a full 3-D quadratic on it."""
    lat = _lattice(half_width)
    x, y, z = lat.unbind(-1)
    design = torch.stack([torch.ones_like(x), x, y, z, x * x, y * y, z * z, x * y, x * z, y * z],
                         -1)
    return lat, torch.linalg.pinv(design)


def quadratic_peak(
    scores: torch.Tensor, half_width: int = 1, max_offset: float = 1.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum of the quadratic least-squares fit to scores on a :func:`local_rotations` lattice.

    The score near a centre rotation is modelled as ``f(ω) = c + gᵀω + ½ ωᵀ H ω`` in lattice
    units (``ω`` of the ``exp([ω·step]ₓ)`` offsets); its maximum ``ω* = −H⁻¹g`` is accepted when
    ``H`` is negative definite and ``ω*`` lies within ``max_offset`` of the centre on every axis.

    Parameters
    ----------
    scores : torch.Tensor, shape (..., (2m + 1)³)
        Scores in the order of :func:`local_rotations` (identity first).
    half_width : int
        ``m`` of the lattice.
    max_offset : float
        Largest accepted offset per axis, lattice units.

    Returns
    -------
    offset : torch.Tensor, shape (..., 3)
        ``ω*`` in lattice units (zero where not accepted).
    ok : torch.Tensor, bool, shape (...)
        Whether the fit has an accepted interior maximum.
    """
    _, solver = _quadratic_design(half_width)
    coef = scores.to(torch.float64) @ solver.to(scores.device).T  # (..., 10)
    g = coef[..., 1:4]
    a = coef[..., 4:7]
    hxy, hxz, hyz = coef[..., 7], coef[..., 8], coef[..., 9]
    hess = torch.stack([
        torch.stack([2 * a[..., 0], hxy, hxz], -1),
        torch.stack([hxy, 2 * a[..., 1], hyz], -1),
        torch.stack([hxz, hyz, 2 * a[..., 2]], -1),
    ], -2)
    concave = torch.linalg.eigvalsh(hess).amax(-1) < 0
    eye = torch.eye(3, dtype=hess.dtype, device=hess.device)
    safe = torch.where(concave[..., None, None], hess, -eye)
    offset = -torch.linalg.solve(safe, g[..., None])[..., 0]
    ok = concave & (offset.abs().amax(-1) <= max_offset)
    offset = torch.where(ok[..., None], offset, torch.zeros_like(offset))
    return offset.to(scores.dtype), ok


def asymmetric_unit(rotations: torch.Tensor, symmetry: torch.Tensor) -> torch.Tensor:
    """The rotations ``R`` closer to the identity than any of their mates ``R g`` (``g ≠ 1``).

    One copy of SO(3) modulo the point group (the Dirichlet cell of the identity), so a global
    search over it visits each pose class once: ``|G|`` times fewer rotations.

    Parameters
    ----------
    rotations : torch.Tensor, shape (n, 3, 3)
    symmetry : torch.Tensor, shape (G, 3, 3)

    Returns
    -------
    torch.Tensor, shape (m, 3, 3)
    """
    group = symmetry.to(rotations)
    trace = torch.einsum("nij,gji->ng", rotations, group)  # tr(R g): larger = closer to 1
    return rotations[trace[:, 0] >= trace.amax(-1) - 1e-9]
