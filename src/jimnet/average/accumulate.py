"""Streaming wedge-weighted Fourier averaging (memory independent of the number of particles).

``A = IFFT( Σ_i FFT(T_i s_i) · R_i(M_i) / max(Σ_i R_i(M_i), floor) )``: each aligned particle
contributes only where its rotated missing-wedge mask says it was observed, and every frequency
is divided by how many particles observed it (METHOD.md §6.2).
"""

from __future__ import annotations

import torch

from jimnet.fourier import wedge_mask
from jimnet.transform import rigid_transform


class WedgeWeightedAverage:
    """Accumulates aligned particles into a wedge-weighted average.

    Parameters
    ----------
    box : int
        Cubic box edge N.
    floor : float
        Minimum summed weight per frequency, as a fraction of the number of particles added
        (frequencies observed by fewer particles are divided by the floor instead, which damps
        them rather than amplifying noise).
    device : torch.device or str
    """

    def __init__(self, box: int, *, floor: float = 0.1, device: torch.device | str = "cpu"
                 ) -> None:
        self.shape = (box, box, box)
        self.floor = floor
        self.numerator = torch.zeros(box, box, box // 2 + 1, dtype=torch.complex128,
                                     device=device)
        self.weights = torch.zeros(box, box, box // 2 + 1, dtype=torch.float64, device=device)
        self.count = 0

    def add(self, particles: torch.Tensor, rotation: torch.Tensor, shift: torch.Tensor,
            tilt_min: torch.Tensor, tilt_max: torch.Tensor) -> None:
        """Add particles brought onto the reference by the poses ``(R, t)``.

        Parameters
        ----------
        particles : torch.Tensor, shape (B, N, N, N)
        rotation, shift : torch.Tensor, shapes (B, 3, 3), (B, 3)
            Poses mapping each particle onto the reference (``rigid_transform(p, R, t) ≈ ref``).
        tilt_min, tilt_max : torch.Tensor, shape (B,)
            Tilt ranges in degrees, in the particle (tomogram) frame.
        """
        dev = self.numerator.device
        aligned = rigid_transform(particles.to(dev, torch.float64), rotation.to(dev, torch.float64),
                                  shift.to(dev, torch.float64))
        masks = wedge_mask(self.shape, tilt_min.to(dev, torch.float64),
                           tilt_max.to(dev, torch.float64), rotation.to(dev, torch.float64),
                           layout="rfft")
        spectra = torch.fft.rfftn(aligned, dim=(-3, -2, -1))
        self.numerator += (spectra * masks).sum(0)
        self.weights += masks.sum(0)
        self.count += len(particles)

    def result(self) -> torch.Tensor:
        """The average so far, float32 (N, N, N) (zeros before anything was added)."""
        if self.count == 0:
            return torch.zeros(self.shape, dtype=torch.float32)
        denom = torch.clamp(self.weights, min=self.floor * self.count)
        avg = torch.fft.irfftn(self.numerator / denom, s=self.shape, dim=(-3, -2, -1))
        return avg.float().cpu()
