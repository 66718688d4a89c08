"""Missing-wedge descriptions accepted by the aligners, and their values at rotated frequencies.

A wedge argument (:data:`WedgeLike`) is one of

* ``None`` — everything observed (no missing wedge; "ignore the wedge");
* ``(tilt_min_deg, tilt_max_deg)`` — a single-axis tilt range (tilt axis y, beam z), evaluated
  **analytically** at rotated frequencies by :func:`jimnet.fourier.wedge_mask`;
* a tensor of shape ``(N, N, N)`` — an arbitrary Fourier weight of the particle in the *shifted*
  layout (DC at ``N // 2``), e.g. a CTF²-weighted wedge; it is trilinearly interpolated.

All describe the particle **in its own (tomogram) frame**. After rotating the particle by ``R`` its
observed region is ``W(Rᵀk)`` (:mod:`jimnet.fourier.wedge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from jimnet.align.spectra import FourierPoints, sample_rotated
from jimnet.fourier import Layout, sphere_mask, wedge_mask
from jimnet.transform import rigid_transform

WedgeLike = None | tuple[float, float] | torch.Tensor


@dataclass(frozen=True)
class WedgeSet:
    """The wedges of ``P`` volumes, in one representation.

    Attributes
    ----------
    tilt : torch.Tensor or None, shape (P, 2)
        Tilt ranges in degrees (analytic wedges), or ``None`` when ``masks`` is used.
    masks : torch.Tensor or None, shape (P, 1, N, N, N)
        Shifted-layout Fourier weights, or ``None`` when ``tilt`` is used.
    """

    tilt: torch.Tensor | None
    masks: torch.Tensor | None

    @classmethod
    def build(
        cls,
        wedges: Sequence[WedgeLike],
        n: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> WedgeSet:
        """Convert per-volume wedge descriptions (see module doc) for an ``N``-box."""
        tilts: list[tuple[float, float]] = []
        any_mask = any(isinstance(w, torch.Tensor) for w in wedges)
        for w in wedges:
            if w is None:
                tilts.append((-90.0, 90.0))
            elif isinstance(w, torch.Tensor):
                if tuple(w.shape) != (n, n, n):
                    raise ValueError(
                        f"wedge mask must have shape {(n, n, n)}, got {tuple(w.shape)}")
                tilts.append((float("nan"), float("nan")))
            else:
                lo, hi = (float(x) for x in w)
                tilts.append((lo, hi))
        if not any_mask:
            return cls(torch.tensor(tilts, dtype=dtype, device=device), None)
        masks = []
        for w, (lo, hi) in zip(wedges, tilts, strict=True):
            if isinstance(w, torch.Tensor):
                masks.append(w.to(dtype=dtype, device=device))
            else:
                masks.append(wedge_mask((n, n, n), lo, hi, sphere=False, dtype=dtype,
                                        device=device))
        return cls(None, torch.stack(masks)[:, None])

    def select(self, index: torch.Tensor | slice) -> WedgeSet:
        """The wedges of a subset of the ``P`` volumes."""
        if self.tilt is not None:
            return WedgeSet(self.tilt[index], None)
        assert self.masks is not None
        return WedgeSet(None, self.masks[index])

    def at_points(self, points: FourierPoints, rotations: torch.Tensor) -> torch.Tensor:
        """Weights ``W_p(Rᵀk)`` of the rotated volumes at the half-space samples.

        Parameters
        ----------
        points : FourierPoints
            Samples of an ``M``-box (cycles per box).
        rotations : torch.Tensor, shape (P, B, 3, 3)

        Returns
        -------
        torch.Tensor, shape (P, B, n)
        """
        if self.masks is not None:
            return sample_rotated(self.masks, points.k, rotations, 1.0)[:, :, 0]
        assert self.tilt is not None
        m = points.box
        lo = self.tilt[:, 0, None].to(rotations.dtype)
        hi = self.tilt[:, 1, None].to(rotations.dtype)
        if bool(((lo <= -90.0) & (hi >= 90.0)).all()):
            return rotations.new_ones(*rotations.shape[:2], points.k.shape[0])
        grid = wedge_mask((m, m, m), lo, hi, rotations, sphere=False, layout="rfft")
        return grid.flatten(-3)[..., points.index]

    def rotated_grid(
        self,
        n: int,
        rotations: torch.Tensor,
        *,
        layout: Layout = "shifted",
        sphere: bool = True,
    ) -> torch.Tensor:
        """Weights ``W_p(Rᵀk)`` of the rotated volumes on the full ``N``-grid.

        Parameters
        ----------
        n : int
            Box size.
        rotations : torch.Tensor, shape (P, 3, 3)
        layout : {"shifted", "unshifted", "rfft"}
            Fourier layout of the result (:mod:`jimnet.fourier.grids`).
        sphere : bool
            Multiply by the Fourier sphere ``|k| ≤ N/2``.

        Returns
        -------
        torch.Tensor, shape (P, *fourier_shape((N, N, N), layout))
            Analytic for tilt wedges; mask wedges are rotated about DC by trilinear
            interpolation (:func:`jimnet.transform.rigid_transform` on the shifted layout).
        """
        shape = (n, n, n)
        if self.tilt is not None:
            return wedge_mask(shape, self.tilt[:, 0], self.tilt[:, 1], rotations, sphere=sphere,
                              layout=layout, dtype=rotations.dtype)
        assert self.masks is not None
        grid = rigid_transform(self.masks[:, 0], rotations.to(self.masks.dtype))
        if sphere:
            grid = grid * sphere_mask(shape, 0.5, "shifted", dtype=grid.dtype, device=grid.device)
        if layout == "shifted":
            return grid
        grid = torch.fft.ifftshift(grid, dim=(-3, -2, -1))
        return grid[..., : n // 2 + 1] if layout == "rfft" else grid
