"""2D geometric transformations of Jim-Net 2D: affine, thin-plate spline (TPS), their composition.

Conventions (defined here once; the 2D model, loss, simulator and PCK all call these):

* A transformation maps **target** points to **source** points (Rocco et al. 2017): warping the
  source with it (:func:`warp_image`) gives an image aligned to the target.
* Points are ``(…, N, 2)`` in **xy** order (x = column, y = row) in normalised coordinates,
  ``−1`` and ``+1`` being the centres of the first and last pixel (``align_corners=True``), as
  :func:`torch.nn.functional.grid_sample` reads its grid.
* Pixel coordinates of keypoints are **1-based** (PF-PASCAL / MATLAB):
  :func:`pixel_to_unit` and :func:`unit_to_pixel` convert.
* Affine ``theta``: ``(B, 2, 3)``, ``p_src = theta[:, :, :2] @ p_tgt + theta[:, :, 2]``.
* TPS ``theta``: ``(B, 2·M)``: the source positions of the ``M = g²`` control points, all x
  then all y; the control points sit on a regular ``g × g`` grid of the target, row-major
  (y outer, x inner). Identity = the control points themselves.
* The composed affine∘TPS warp of the two-stage model maps a target point first by the TPS,
  then by the affine: ``p_src = A(T(p_tgt))``; warping the source by ``A`` and the result by
  ``T`` is the same as warping once by the composition.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F


# --------------------------------------------------------------------------------- coordinates
def pixel_to_unit(points: torch.Tensor, size_hw: torch.Tensor) -> torch.Tensor:
    """1-based pixel xy → normalised xy. ``size_hw`` (…, 2) broadcastable as (…, 1, 2): (H, W)."""
    wh = size_hw.flip(-1).unsqueeze(-2).to(points.dtype)
    return (points - 1.0) * 2.0 / (wh - 1.0) - 1.0


def unit_to_pixel(points: torch.Tensor, size_hw: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pixel_to_unit`."""
    wh = size_hw.flip(-1).unsqueeze(-2).to(points.dtype)
    return (points + 1.0) * (wh - 1.0) / 2.0 + 1.0


def unit_grid(height: int, width: int, *, dtype: torch.dtype = torch.float32,
              device: torch.device | str | None = None) -> torch.Tensor:
    """Normalised xy of every pixel centre, shape (H·W, 2), row-major."""
    ys = torch.linspace(-1.0, 1.0, height, dtype=dtype, device=device)
    xs = torch.linspace(-1.0, 1.0, width, dtype=dtype, device=device)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)


# -------------------------------------------------------------------------------------- affine
def identity_affine(batch: int, *, dtype: torch.dtype = torch.float32,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """Identity affine parameters, shape (B, 2, 3)."""
    eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype, device=device)
    return eye.expand(batch, 2, 3).clone()


def affine_points(theta: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Apply affine ``theta`` (B, 2, 3) to points (B, N, 2); returns (B, N, 2)."""
    return points @ theta[:, :, :2].transpose(1, 2) + theta[:, None, :, 2]


# ----------------------------------------------------------------------------------------- TPS
def tps_control_points(grid_size: int = 3, *, dtype: torch.dtype = torch.float32,
                       device: torch.device | str | None = None) -> torch.Tensor:
    """The regular ``g × g`` control points in the target, shape (g², 2), xy, row-major."""
    return unit_grid(grid_size, grid_size, dtype=dtype, device=device)


def identity_tps(batch: int, grid_size: int = 3, *, dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """Identity TPS parameters (the control points), shape (B, 2·g²): all x then all y."""
    c = tps_control_points(grid_size, dtype=dtype, device=device)
    return torch.cat([c[:, 0], c[:, 1]]).expand(batch, -1).clone()


def _tps_kernel(r2: torch.Tensor) -> torch.Tensor:
    """TPS radial basis ``U = r² log r²`` (0 at r = 0)."""
    return torch.where(r2 > 0, r2 * torch.log(r2.clamp_min(1e-30)), torch.zeros_like(r2))


@functools.lru_cache(maxsize=8)
def _tps_system_inverse(grid_size: int) -> np.ndarray:
    """Inverse of the ``(M + 3)²`` TPS interpolation matrix ``[[K, P], [Pᵀ, 0]]`` (float64)."""
    c = tps_control_points(grid_size, dtype=torch.float64)
    m = len(c)
    k = _tps_kernel(torch.cdist(c, c) ** 2)
    p = torch.cat([torch.ones(m, 1, dtype=torch.float64), c], dim=1)
    system = torch.zeros(m + 3, m + 3, dtype=torch.float64)
    system[:m, :m] = k
    system[:m, m:] = p
    system[m:, :m] = p.T
    return torch.linalg.inv(system).numpy()


def tps_points(theta: torch.Tensor, points: torch.Tensor, grid_size: int = 3) -> torch.Tensor:
    """Apply the TPS ``theta`` (B, 2·g²) to points (B, N, 2); returns (B, N, 2).

    The TPS interpolates the control points (target) to ``theta`` (source) exactly and is the
    bending-energy minimiser between them; an affine ``theta`` gives that affine map.
    """
    m = grid_size * grid_size
    if theta.shape[-1] != 2 * m:
        raise ValueError(f"TPS theta must have {2 * m} values for a {grid_size}² grid, "
                         f"got {theta.shape[-1]}")
    dtype, device = theta.dtype, theta.device
    inv = torch.as_tensor(_tps_system_inverse(grid_size), dtype=dtype, device=device)
    targets = theta.reshape(-1, 2, m).transpose(1, 2)                  # (B, M, 2) source xy
    coeffs = inv[:, :m] @ targets                                      # (B, M + 3, 2)
    c = tps_control_points(grid_size, dtype=dtype, device=device)
    u = _tps_kernel(torch.cdist(points, c.expand(len(points), -1, -1)) ** 2)  # (B, N, M)
    basis = torch.cat([u, torch.ones_like(points[..., :1]), points], dim=-1)  # (B, N, M + 3)
    return basis @ coeffs


def compose_points(theta_aff: torch.Tensor, theta_tps: torch.Tensor, points: torch.Tensor,
                   grid_size: int = 3) -> torch.Tensor:
    """The composed two-stage map ``A(T(p))`` (target → source) of points (B, N, 2)."""
    return affine_points(theta_aff, tps_points(theta_tps, points, grid_size))


# ---------------------------------------------------------------------------------------- warps
def sampling_grid(mapped: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Reshape mapped points (B, H·W, 2) of :func:`unit_grid` into a grid_sample grid."""
    return mapped.reshape(-1, height, width, 2)


def transform_grid(height: int, width: int, theta_aff: torch.Tensor | None = None,
                   theta_tps: torch.Tensor | None = None, grid_size: int = 3) -> torch.Tensor:
    """Sampling grid (B, H, W, 2) of the affine, the TPS or the composed ``A∘T`` transformation."""
    ref = theta_aff if theta_aff is not None else theta_tps
    if ref is None:
        raise ValueError("need theta_aff, theta_tps or both")
    pts = unit_grid(height, width, dtype=ref.dtype, device=ref.device).expand(len(ref), -1, -1)
    if theta_tps is not None:
        pts = tps_points(theta_tps, pts, grid_size)
    if theta_aff is not None:
        pts = affine_points(theta_aff, pts)
    return sampling_grid(pts, height, width)


def warp_image(image: torch.Tensor, grid: torch.Tensor, *,
               padding_mode: str = "zeros") -> torch.Tensor:
    """Bilinear warp of images (B, C, H_in, W_in) onto ``grid`` (B, H, W, 2) (zeros outside)."""
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode=padding_mode,
                         align_corners=True)


def resize_image(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bilinear resize (B, C, h, w) → (B, C, H, W) by the identity warp (corner pixels kept), the
    way the PF-PASCAL code resizes images to 240 × 240."""
    grid = unit_grid(height, width, dtype=image.dtype, device=image.device)
    return warp_image(image, sampling_grid(grid.expand(len(image), -1, -1), height, width),
                      padding_mode="border")


# ------------------------------------------------------------------------------ random sampling
def random_affine(n: int, rng: np.random.Generator, *, rotation_deg: float = 20.0,
                  scale: tuple[float, float] = (0.85, 1.15), shear: float = 0.1,
                  translation: float = 0.15) -> torch.Tensor:
    """Random affine maps ``R(φ)·diag(s)·[[1, h], [0, 1]]`` plus a shift, shape (n, 2, 3), float32.

    ``φ ~ U(±rotation_deg)``, isotropic-ish scales ``s_x, s_y ~ U(scale)``, shear
    ``h ~ U(±shear)``, shifts ``~ U(±translation)`` (normalised units).
    """
    phi = np.deg2rad(rng.uniform(-rotation_deg, rotation_deg, n))
    s = rng.uniform(*scale, size=(n, 2))
    h = rng.uniform(-shear, shear, n)
    t = rng.uniform(-translation, translation, size=(n, 2))
    out = np.zeros((n, 2, 3))
    for i in range(n):
        rot = np.array([[np.cos(phi[i]), -np.sin(phi[i])], [np.sin(phi[i]), np.cos(phi[i])]])
        out[i, :, :2] = rot @ np.diag(s[i]) @ np.array([[1.0, h[i]], [0.0, 1.0]])
        out[i, :, 2] = t[i]
    return torch.as_tensor(out, dtype=torch.float32)


def random_tps(n: int, rng: np.random.Generator, *, magnitude: float = 0.1,
               grid_size: int = 3) -> torch.Tensor:
    """Identity TPS with every control point moved by ``U(±magnitude)`` per axis, (n, 2·g²)."""
    base = identity_tps(n, grid_size)
    noise = rng.uniform(-magnitude, magnitude, size=tuple(base.shape))
    return base + torch.as_tensor(noise, dtype=torch.float32)


def invert_points(theta_aff: torch.Tensor, theta_tps: torch.Tensor, points: torch.Tensor,
                  grid_size: int = 3, *, iterations: int = 100, tol: float = 1e-6
                  ) -> torch.Tensor:
    """Solve ``A(T(x)) = points`` for ``x`` (B, N, 2): the source → target direction.

    The affine is inverted exactly; the TPS by the fixed-point iteration
    ``x ← x − (T(x) − y)``, which converges when the TPS is a small perturbation of an affine
    close to the identity (what :func:`random_tps` draws). Raises if it does not converge.
    """
    lin = theta_aff[:, :, :2]
    y = (points - theta_aff[:, None, :, 2]) @ torch.linalg.inv(lin).transpose(1, 2)
    x = y.clone()
    for _ in range(iterations):
        residual = tps_points(theta_tps, x, grid_size) - y
        x = x - residual
        if residual.abs().max() < tol:
            return x
    raise ValueError("TPS inversion did not converge (warp too strong to invert)")
