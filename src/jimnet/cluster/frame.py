"""Common-frame features: what is left of each aligned particle after the global average.

When every particle is aligned to one average of all of them (a single-class reference-free
alignment), particles of one structure land in one pose relative to that average, so their
differences from it agree with each other and differ between structures: the shape, not only
the size (which is all :mod:`jimnet.cluster.spectral` sees). Each particle is brought into the
average's frame, its Fourier coefficients are compared with the average's only where the tilt
series observed them (the missing wedge is filled with the average, i.e. contributes no
difference), low-passed, and kept inside the particle's sphere; the differences are reduced by
PCA. The feature depends on how well the common frame is found, so it needs signal: at SNR 1 it
separates similar-size structures the spectra cannot, at SNR 0.1 it does not
(benchmarks/results/cluster_start_snr1.md, cluster_start_snr0.1.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from jimnet.align.wedge import WedgeSet
from jimnet.fourier.grids import frequency_magnitude
from jimnet.geometry import invert_pose
from jimnet.io import ParticleSet
from jimnet.transform import rigid_transform

SPATIAL = (-3, -2, -1)


def _observed_pair(volumes: torch.Tensor, rotations: ArrayLike, shifts: ArrayLike,
                   tilt_ranges: ArrayLike, average: torch.Tensor, cutoff: float
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Each particle brought into ``average``'s frame and ``average`` seen as that particle is
    (its observed region, low-passed), both real, (B, N, N, N) float64."""
    vol = torch.as_tensor(volumes, dtype=torch.float32)
    n = vol.shape[-1]
    inv_rot, inv_shift = invert_pose(torch.as_tensor(rotations, dtype=torch.float64),
                                     torch.as_tensor(shifts, dtype=torch.float64))
    aligned = rigid_transform(vol, inv_rot.float(), inv_shift.float())
    wedges = WedgeSet.build([tuple(t) for t in np.asarray(tilt_ranges)], n)
    # the particle's observed region seen from the average's frame: W(R k)
    observed = wedges.rotated_grid(n, inv_rot.float(), layout="rfft").double()
    keep = observed * (frequency_magnitude((n,) * 3, layout="rfft") <= cutoff)
    particle = torch.fft.irfftn(keep * torch.fft.rfftn(aligned.double(), dim=SPATIAL),
                                s=(n,) * 3, dim=SPATIAL)
    seen = torch.fft.irfftn(keep * torch.fft.rfftn(average.double(), dim=SPATIAL),
                            s=(n,) * 3, dim=SPATIAL)
    return particle, seen


def _sphere(n: int, particle_radius: float, mask_width: float) -> torch.Tensor:
    """Soft sphere about the box centre: 1 inside ``particle_radius``, linear fall-off."""
    centre = torch.arange(n, dtype=torch.float64) - n // 2
    radius = torch.sqrt(centre[:, None, None] ** 2 + centre[None, :, None] ** 2
                        + centre[None, None, :] ** 2)
    return ((particle_radius + mask_width - radius) / mask_width).clamp(0, 1)


def frame_differences(volumes: torch.Tensor, rotations: ArrayLike, shifts: ArrayLike,
                      tilt_ranges: ArrayLike, average: torch.Tensor, *, particle_radius: float,
                      cutoff: float = 0.25, mask_width: float = 2.0) -> torch.Tensor:
    """Observed, low-passed difference of each aligned particle from ``average`` in its sphere.

    Parameters
    ----------
    volumes : torch.Tensor, shape (B, N, N, N)
    rotations, shifts : array_like, shapes (B, 3, 3), (B, 3)
        Average → particle poses (zyx, voxels), as :func:`jimnet.align.align_to_reference` gives.
    tilt_ranges : array_like, shape (B, 2)
        Each particle's tilt range (degrees) in its own frame.
    average : torch.Tensor, shape (N, N, N)
        The common-frame average (complete: no wedge).
    particle_radius : float
        Voxels; the difference is kept inside a sphere of this radius about the box centre with
        a ``mask_width``-voxel linear fall-off.
    cutoff : float
        Low-pass, cycles per voxel (0.5 = Nyquist).

    Returns
    -------
    torch.Tensor, shape (B, M), float32
        The differences at the ``M`` voxels inside the sphere (plus its fall-off).
    """
    particle, seen = _observed_pair(volumes, rotations, shifts, tilt_ranges, average, cutoff)
    mask = _sphere(particle.shape[-1], particle_radius, mask_width)
    return ((particle - seen) * mask)[:, mask > 0].float()


def frame_correlations(volumes: torch.Tensor, rotations: ArrayLike, shifts: ArrayLike,
                       tilt_ranges: ArrayLike, reference: torch.Tensor, *,
                       particle_radius: float, cutoff: float = 0.25, mask_width: float = 2.0
                       ) -> torch.Tensor:
    """Pearson correlation of each aligned particle with ``reference`` seen as the particle is.

    The same comparison as :func:`frame_differences` (observed region, low-pass, soft sphere),
    scored as one number per particle.

    Returns
    -------
    torch.Tensor, shape (B,), float64
    """
    particle, seen = _observed_pair(volumes, rotations, shifts, tilt_ranges, reference, cutoff)
    mask = _sphere(particle.shape[-1], particle_radius, mask_width)
    inside = mask > 0
    p = (particle * mask)[:, inside]
    r = (seen * mask)[:, inside]
    p = p - p.mean(1, keepdim=True)
    r = r - r.mean(1, keepdim=True)
    return (p * r).sum(1) / (p.norm(dim=1) * r.norm(dim=1)).clamp_min(1e-30)


def frame_features(particles: ParticleSet, rotations: ArrayLike, shifts: ArrayLike,
                   average: torch.Tensor, *, particle_radius: float, n_components: int = 10,
                   cutoff: float = 0.25, batch_size: int = 32,
                   indices: ArrayLike | None = None,
                   progress: Callable[[int, int], None] | None = None) -> NDArray[np.float64]:
    """PCA of :func:`frame_differences` over all particles, streamed (memory flat in N).

    Two passes over the particles: an incremental PCA fit, then the projection. ``indices``
    restricts both to those particles (rows of ``rotations``/``shifts`` still index the whole
    set).

    Returns
    -------
    numpy.ndarray, shape (n, c), float64
        ``c = min(n_components, n − 1)`` principal-component coordinates, ``n`` the number of
        particles used, in the order of ``indices``.
    """
    from sklearn.decomposition import IncrementalPCA

    use = np.arange(len(particles)) if indices is None else np.asarray(indices, dtype=np.int64)
    n = len(use)
    comps = max(1, min(n_components, n - 1))
    # every chunk must hold at least ``comps`` particles for the incremental fit
    chunks = np.array_split(use, max(1, n // max(batch_size, comps)))
    rot = np.asarray(rotations)
    shift = np.asarray(shifts)
    tilts = particles.tilt_ranges()

    def differences(idx: NDArray) -> NDArray:
        return frame_differences(particles.get_batch(idx), rot[idx], shift[idx], tilts[idx],
                                 average, particle_radius=particle_radius,
                                 cutoff=cutoff).numpy()

    pca = IncrementalPCA(n_components=comps)
    done = 0
    for idx in chunks:
        pca.partial_fit(differences(idx))
        done += len(idx)
        if progress is not None:
            progress(done, 2 * n)
    rows = []
    for idx in chunks:
        rows.append(pca.transform(differences(idx)))
        done += len(idx)
        if progress is not None:
            progress(done, 2 * n)
    return np.concatenate(rows).astype(np.float64)
