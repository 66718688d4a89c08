r"""Wedge-weighted Fourier averaging of aligned subtomograms.

Each particle ``p_i`` with pose ``(R_i, t_i)`` (reference → particle, :mod:`jimnet.geometry.pose`)
is brought into the reference frame with the inverse pose (:func:`jimnet.transform.rigid_transform`,
the one warp), and its observed Fourier region ``W_i`` (given in the particle's own frame) is
expressed in the reference frame, ``W_i(R_i k)``. The average is

    A(k) = Σ_i W_i(R_i k) · FFT(aligned_i)(k) / max(Σ_i W_i(R_i k), floor · n),

so every frequency is divided by the number of particles that actually observed it; frequencies
observed by fewer than ``floor · n`` particles are damped instead of amplified, and frequencies
nobody observed stay zero. Only ``|k| ≤ N/2`` (the Fourier sphere) is kept.

With a point group ``G`` (:mod:`jimnet.geometry.symmetry`) every particle is added once per
symmetry mate ``(R_i g, t_i)`` of its pose (RELION's symmetry expansion), so the average and its
summed wedge weights are both symmetric: ``A(k) = Σ_i Σ_g W_i(R_i g k) · FFT(g⁻¹ aligned_i)(k) /
max(Σ_i Σ_g W_i(R_i g k), floor · n · |G|)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from jimnet.align.wedge import WedgeLike, WedgeSet
from jimnet.geometry import invert_pose
from jimnet.geometry.symmetry import symmetry_group
from jimnet.transform import rigid_transform

SPATIAL = (-3, -2, -1)


class WedgeWeightedAverager:
    """Accumulates aligned particles in Fourier space (rfft layout), batch by batch.

    Parameters
    ----------
    n : int
        Box size ``N``.
    device : torch.device or str, optional
    symmetry : str, optional
        Point group of the average (``C1``, ``Cn``, ``Dn``, ``T``, ``O``, ``I``): each particle
        is added with every symmetry mate of its pose (see the module doc).
    """

    def __init__(self, n: int, device: torch.device | str | None = None,
                 symmetry: str | None = None) -> None:
        self.n = int(n)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.group = torch.as_tensor(symmetry_group(symmetry), dtype=torch.float64,
                                     device=self.device)
        shape = (self.n, self.n, self.n // 2 + 1)
        self.numerator = torch.zeros(shape, dtype=torch.complex128, device=self.device)
        self.weight = torch.zeros(shape, dtype=torch.float64, device=self.device)
        self.count = 0

    def add(
        self,
        particles: torch.Tensor,
        rotations: torch.Tensor,
        shifts: torch.Tensor,
        wedges: Sequence[WedgeLike] | None = None,
    ) -> None:
        """Add a batch of particles with their poses.

        Parameters
        ----------
        particles : torch.Tensor, shape (B, N, N, N)
        rotations : torch.Tensor or array_like, shape (B, 3, 3)
            Reference → particle rotations (zyx).
        shifts : torch.Tensor or array_like, shape (B, 3)
            Reference → particle shifts (voxels, zyx).
        wedges : sequence of WedgeLike, length B, optional
            Observed region of each particle in its own frame (default: complete).
        """
        vol = torch.as_tensor(particles).to(self.device, torch.float32)
        if vol.ndim != 4 or vol.shape[-3:] != (self.n,) * 3:
            raise ValueError(f"particles must be (B, {self.n}, {self.n}, {self.n}), "
                             f"got {tuple(vol.shape)}")
        b = vol.shape[0]
        rot = torch.as_tensor(rotations, dtype=torch.float64).to(self.device).reshape(b, 3, 3)
        sh = torch.as_tensor(shifts, dtype=torch.float64).to(self.device).reshape(b, 3)
        wset = WedgeSet.build(list(wedges) if wedges is not None else [None] * b, self.n,
                              device=self.device)
        for g in self.group:  # identity only without symmetry
            inv_rot, inv_shift = invert_pose(rot @ g, sh)
            aligned = rigid_transform(vol, inv_rot.float(), inv_shift.float())
            # The particle's wedge W(k) seen from the reference frame: W(R k) = rotation Rᵀ.
            w = wset.rotated_grid(self.n, inv_rot.float(), layout="rfft").to(torch.float64)
            spec = torch.fft.rfftn(aligned.to(torch.float64), dim=SPATIAL)
            self.numerator += (w * spec).sum(0)
            self.weight += w.sum(0)
            self.count += b

    def result(self, floor: float = 0.1) -> torch.Tensor:
        """The average so far, shape (N, N, N), float32.

        Parameters
        ----------
        floor : float
            Minimum denominator as a fraction of the particles added (see module doc).
        """
        if self.count == 0:
            raise ValueError("no particles were added")
        den = self.weight.clamp_min(max(floor * self.count, 1e-12))
        avg = torch.fft.irfftn(self.numerator / den, s=(self.n,) * 3, dim=SPATIAL)
        return avg.to(torch.float32)


def wedge_weighted_average(
    particles: torch.Tensor,
    rotations: torch.Tensor,
    shifts: torch.Tensor,
    wedges: Sequence[WedgeLike] | None = None,
    *,
    floor: float = 0.1,
    batch_size: int = 64,
    symmetry: str | None = None,
) -> torch.Tensor:
    """Wedge-weighted Fourier average of posed particles (see the module doc).

    Parameters
    ----------
    particles : torch.Tensor, shape (P, N, N, N)
    rotations : torch.Tensor, shape (P, 3, 3)
        Reference → particle rotations.
    shifts : torch.Tensor, shape (P, 3)
        Reference → particle shifts (voxels).
    wedges : sequence of WedgeLike, length P, optional
    floor : float
        Denominator floor as a fraction of ``P``.
    batch_size : int
        Particles warped at once.
    symmetry : str, optional
        Point group: a symmetrised average (:class:`WedgeWeightedAverager`).

    Returns
    -------
    torch.Tensor, shape (N, N, N), float32
    """
    vol = torch.as_tensor(particles)
    acc = WedgeWeightedAverager(vol.shape[-1], vol.device, symmetry)
    rot = torch.as_tensor(rotations)
    sh = torch.as_tensor(shifts)
    wl = list(wedges) if wedges is not None else None
    for start in range(0, vol.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        acc.add(vol[sl], rot[sl], sh[sl], wl[sl] if wl is not None else None)
    return acc.result(floor)
