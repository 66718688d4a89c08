r"""Single-axis tilt-series projection and weighted back-projection (WBP) as one sparse matrix.

Geometry (CONVENTIONS.md §1, §4): the beam is array axis 0 (``z``), the tilt axis array axis 1
(``y``). Tilting the specimen by ``α`` (right-handed about ``+y``; zyx matrix
``[[cos α, 0, −sin α], [0, 1, 0], [sin α, 0, cos α]]``, :func:`jimnet.fourier.tilt_rotation`) and
projecting along ``z`` sends the voxel at ``(z, y, x)`` (relative to the centre ``N // 2``) to the
detector pixel

    u = sin α · z + cos α · x        (relative to the detector centre ``W_det // 2``),  row y.

So each ``y``-slice is an independent 2D ``(z, x) → u`` Radon transform, the same for every slice
and every particle. :class:`TiltProjector` builds that transform once, as a matrix ``P`` of shape
``(T · W_det, D · W)`` (voxel-driven linear interpolation onto the detector, each voxel split into
``oversample²`` sub-voxels; about 5 % non-zeros, stored sparse), and applies it to all slices of
all particles in one sparse matmul. Back-projection is ``Pᵀ``; WBP filters each projection row
(along ``x``, perpendicular to the tilt axis) with the Ram-Lak ramp (spatial kernel
``h[0] = 1/4``, ``h[odd n] = −1/(π n)²``, zero-padded to twice the detector width) and scales by
the tilt step in radians, so that a full ``[−90°, 90°)`` series reconstructs the
volume. The detector is wide enough (``W_det ≥ √2·W``) that every voxel is seen at every tilt.

By the projection-slice theorem the image at tilt ``α`` samples the Fourier plane whose in-plane
direction is ``(k_x, k_z) ∝ (cos α, sin α)``; this is the geometry of
:func:`jimnet.fourier.wedge_mask` (frequency observed iff ``atan(k_z / k_x) ∈ [min, max]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch

__all__ = ["TiltProjector", "ramp_filter_kernel", "tilt_angles"]


def tilt_angles(tilt_min: float, tilt_max: float, tilt_step: float) -> tuple[float, ...]:
    """Tilt angles ``tilt_min, tilt_min + step, …`` up to ``tilt_max`` (inclusive), degrees.

    ``tilt_angles(-60, 60, 1)`` gives the 121 angles of the benchmark.
    """
    n = math.floor((tilt_max - tilt_min) / tilt_step + 1e-9) + 1
    return tuple(float(tilt_min + i * tilt_step) for i in range(n))


def _detector_layout(shape_zx: tuple[int, int], tilts: np.ndarray, oversample: int):
    d, w = shape_zx
    offsets = (np.arange(oversample) + 0.5) / oversample - 0.5
    z = (np.arange(d)[:, None] - d // 2 + offsets[None, :]).ravel()  # (D·s,)
    x = (np.arange(w)[:, None] - w // 2 + offsets[None, :]).ravel()  # (W·s,)
    rad = np.deg2rad(tilts)
    # u for every (tilt, z-sub, x-sub): (T, D·s, W·s)
    u = np.sin(rad)[:, None, None] * z[None, :, None] + np.cos(rad)[:, None, None] * x[None, None]
    need = max(float(-u.min()), float(u.max())) - (w - 1 - w // 2)
    pad = max(0, math.ceil(need) + 1)
    return u, w + 2 * pad


@lru_cache(maxsize=8)
def _projection_matrix(shape_zx: tuple[int, int], tilts: tuple[float, ...], oversample: int):
    d, w = shape_zx
    t_arr = np.asarray(tilts, dtype=np.float64)
    u, w_det = _detector_layout(shape_zx, t_arr, oversample)
    u = u + w_det // 2
    n_t = len(tilts)
    base = np.floor(u).astype(np.int64)
    frac = u - base
    col_z = np.repeat(np.arange(d), oversample)  # voxel index of each z sub-sample
    col_x = np.repeat(np.arange(w), oversample)
    cols = (col_z[:, None] * w + col_x[None, :])[None].repeat(n_t, 0)  # (T, D·s, W·s)
    rows = np.arange(n_t)[:, None, None] * w_det + base
    weight = 1.0 / oversample**2
    mat = np.zeros((n_t * w_det, d * w), dtype=np.float64)
    np.add.at(mat, (rows.ravel(), cols.ravel()), ((1.0 - frac) * weight).ravel())
    np.add.at(mat, ((rows + 1).ravel(), cols.ravel()), (frac * weight).ravel())
    return mat, w_det


def ramp_filter_kernel(width: int) -> tuple[np.ndarray, int]:
    """Ram-Lak ramp filter for rows of ``width`` pixels, in the rfft domain of the padded length.

    Returns
    -------
    response : numpy.ndarray, shape (L // 2 + 1,)
        Real frequency response (≈ ``|k|`` in cycles/pixel, with the correct small DC term).
    L : int
        Padded length (even, ≥ 2·width).
    """
    length = 2 * width + (2 * width) % 2
    n = np.fft.fftfreq(length, d=1.0 / length)  # integer offsets 0, 1, …, −1
    h = np.zeros(length)
    h[0] = 0.25
    odd = n.astype(np.int64) % 2 == 1
    h[odd] = -1.0 / (math.pi * n[odd]) ** 2
    return np.fft.rfft(h).real, length


class TiltProjector:
    """Projection of ``(B, D, H, W)`` volumes at tilts about ``y`` and WBP back to volumes.

    Parameters
    ----------
    shape : (D, H, W)
        Volume shape (zyx).
    tilts_deg : sequence of float
        Tilt angles in degrees (right-handed about +y).
    oversample : int
        Sub-voxels per voxel edge in the (z, x) plane for the projection weights.
    dtype, device
        Of the operator (float32 recommended).

    Attributes
    ----------
    matrix : torch.Tensor, shape (T·W_det, D·W)
        The dense projection matrix ``P`` of one y-slice (row ``t·W_det + u``, column
        ``z·W + x``). Products use a sparse (CSR) copy of it.
    detector_width : int
        ``W_det``; projections have shape ``(B, T, H, W_det)`` with the centre at ``W_det // 2``.
    tilt_step_rad : float
        Angular weight of each projection in WBP (the mean spacing of the tilts, radians).

    Notes
    -----
    Two layouts: the public methods use ``(B, T, H, W_det)`` projections; the ``*_tm``
    ("tilt-major") methods use ``(T, B, W_det, H)``, which needs fewer copies around the sparse
    products and is what the imager uses.
    """

    def __init__(
        self,
        shape: Sequence[int],
        tilts_deg: Sequence[float],
        *,
        oversample: int = 2,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        d, h, w = (int(n) for n in shape)
        self.shape = (d, h, w)
        self.tilts_deg = tuple(float(t) for t in tilts_deg)
        if not self.tilts_deg:
            raise ValueError("need at least one tilt angle")
        mat, w_det = _projection_matrix((d, w), self.tilts_deg, int(oversample))
        self.detector_width = w_det
        self.n_tilts = len(self.tilts_deg)
        self.matrix = torch.as_tensor(mat, dtype=dtype, device=device)  # (T·W_det, D·W)
        self._sparse = self.matrix.to_sparse().coalesce()  # COO: fastest sparse × dense on CPU
        if self.n_tilts > 1:
            self.tilt_step_rad = math.radians(
                (max(self.tilts_deg) - min(self.tilts_deg)) / (self.n_tilts - 1))
        else:
            self.tilt_step_rad = math.pi
        response, self._pad_length = ramp_filter_kernel(w_det)
        self._ramp = torch.as_tensor(response * self.tilt_step_rad, dtype=dtype, device=device)
        eye = torch.eye(w_det, dtype=dtype, device=device)
        self.ramp_matrix = self._ramp_fft(eye).T.contiguous()  # K[u_out, u_in]

    @property
    def detector_shape(self) -> tuple[int, int, int]:
        """``(T, H, W_det)``: the shape of one particle's tilt series."""
        return (self.n_tilts, self.shape[1], self.detector_width)

    # -------------------------------------------------------------------- tilt-major layout
    def project_tm(self, volumes: torch.Tensor) -> torch.Tensor:
        """Projections in tilt-major layout: (B, D, H, W) → (T, B, W_det, H)."""
        b, d, h, w = volumes.shape
        cols = volumes.permute(1, 3, 0, 2).reshape(d * w, b * h).to(self.matrix.dtype)
        proj = torch.sparse.mm(self._sparse, cols)  # (T·W_det, B·H)
        return proj.reshape(self.n_tilts, self.detector_width, b, h).transpose(1, 2).contiguous()

    def backproject_tm(self, projections: torch.Tensor) -> torch.Tensor:
        """Unfiltered back-projection ``Pᵀ``: (T, B, W_det, H) → (B, D, H, W)."""
        t, b, wd, h = projections.shape
        d, _, w = self.shape
        rows = projections.transpose(1, 2).reshape(t * wd, b * h)
        vol = torch.sparse.mm(self._sparse.t(), rows)  # (D·W, B·H)
        return vol.reshape(d, w, b, h).permute(2, 0, 3, 1).contiguous()

    def ramp_tm(self, projections: torch.Tensor) -> torch.Tensor:
        """Ramp filter (with the WBP angular weight) along ``u``: (T, B, W_det, H)."""
        return self.ramp_matrix @ projections

    def wbp_tm(self, projections: torch.Tensor) -> torch.Tensor:
        """Weighted back-projection: (T, B, W_det, H) → (B, D, H, W)."""
        return self.backproject_tm(self.ramp_tm(projections))

    # ----------------------------------------------------------------------- public layout
    def project(self, volumes: torch.Tensor) -> torch.Tensor:
        """Line integrals (sums over z, voxel units) at every tilt.

        Parameters
        ----------
        volumes : torch.Tensor, shape (B, D, H, W)

        Returns
        -------
        torch.Tensor, shape (B, T, H, W_det)
        """
        return self.project_tm(volumes).permute(1, 0, 3, 2)

    def backproject(self, projections: torch.Tensor) -> torch.Tensor:
        """Unfiltered back-projection ``Pᵀ`` (the adjoint of :meth:`project`).

        Parameters
        ----------
        projections : torch.Tensor, shape (B, T, H, W_det)

        Returns
        -------
        torch.Tensor, shape (B, D, H, W)
        """
        return self.backproject_tm(projections.permute(1, 0, 3, 2))

    def _ramp_fft(self, projections: torch.Tensor) -> torch.Tensor:
        wd = projections.shape[-1]
        spec = torch.fft.rfft(projections, n=self._pad_length, dim=-1)
        return torch.fft.irfft(spec * self._ramp.to(spec.real.dtype), n=self._pad_length,
                               dim=-1)[..., :wd]

    def ramp(self, projections: torch.Tensor) -> torch.Tensor:
        """Ramp-filter every detector row (along ``u``), including the WBP angular weight.

        Ram-Lak kernel on rows zero-padded to twice the detector width; any shape (…, W_det).
        """
        return self._ramp_fft(projections)

    def wbp(self, projections: torch.Tensor) -> torch.Tensor:
        """Weighted back-projection ``Pᵀ · ramp``: shape (B, T, H, W_det) → (B, D, H, W)."""
        return self.backproject(self.ramp(projections))

    def row_gram(self) -> torch.Tensor:
        """``Σ_t P_t P_tᵀ``, shape (W_det, W_det): the detector-row Gram matrix summed over tilts.

        For noise that is independent between tilts and has the same statistics at every tilt,
        ``E‖Pᵀ g‖² = Σ_y E[g_yᵀ (Σ_t P_t P_tᵀ) g_y]`` (``g_y``: one detector row); used to
        compute noise variances after WBP exactly.
        """
        p = self.matrix.reshape(self.n_tilts, self.detector_width, -1)
        return torch.einsum("tuj,tvj->uv", p, p)

    def column_sums(self) -> torch.Tensor:
        """``Σ_{voxels} P``, shape (T, W_det): how much each detector pixel feeds the box sum."""
        return self.matrix.sum(dim=1).reshape(self.n_tilts, self.detector_width)
