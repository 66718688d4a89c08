"""The spectral clustering floor: rotation- and shift-invariant, wedge-aware spectra → PCA → GMM.

A subtomogram's power spectrum ``|V(k)|²`` does not change when the particle is shifted, and its
mean over a Fourier shell ``|k| = s`` does not change when the particle is rotated. Only the
frequencies the tilt series observed carry the particle, so each shell's mean is taken over the
observed part of the shell alone (:func:`jimnet.fourier.wedge_mask`). The feature sees the size and
radial mass distribution of a particle, not its shape: it is the floor every learned or
alignment-based clustering must beat, and it separates classes that differ in size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from jimnet.cluster.gmm import standardise_columns
from jimnet.fourier import wedge_mask
from jimnet.fourier.grids import frequency_magnitude
from jimnet.io import ParticleSet

SPATIAL = (-3, -2, -1)


def observed_shell_power(volumes: torch.Tensor, tilt_ranges: ArrayLike,
                         *, min_shell: int = 1) -> torch.Tensor:
    """Log mean power of every Fourier shell over the frequencies each particle observed.

    Parameters
    ----------
    volumes : torch.Tensor, shape (B, N, N, N)
        Subtomograms, zyx.
    tilt_ranges : array_like, shape (B, 2)
        Tilt range of each particle in degrees (tilt axis y, beam z).
    min_shell : int
        First shell (cycles per box); 1 skips the DC term.

    Returns
    -------
    torch.Tensor, shape (B, N // 2 − min_shell), float64
        ``log(mean |V(k)|²)`` over the observed ``k`` with ``round(|k| N) = s``, for
        ``s = min_shell … N//2 − 1``.
    """
    vol = torch.as_tensor(volumes, dtype=torch.float64)
    if vol.ndim != 4 or len(set(vol.shape[-3:])) != 1:
        raise ValueError(f"volumes must be (B, N, N, N), got {tuple(vol.shape)}")
    n = vol.shape[-1]
    tilts = torch.as_tensor(np.asarray(tilt_ranges, dtype=np.float64).reshape(-1, 2))
    power = torch.fft.fftshift(torch.fft.fftn(vol, dim=SPATIAL), dim=SPATIAL).abs() ** 2
    observed = wedge_mask((n, n, n), tilts[:, 0], tilts[:, 1], dtype=torch.float64,
                          device=vol.device)
    shell = (frequency_magnitude((n, n, n), dtype=torch.float64, device=vol.device) * n).round()
    shells = torch.arange(min_shell, n // 2, dtype=torch.float64, device=vol.device)
    # One-hot shell membership: (S, N³); sums per shell are then one matrix product.
    member = (shell.reshape(1, -1) == shells[:, None]).to(torch.float64)
    weight = observed.reshape(len(vol), -1)
    summed = (power.reshape(len(vol), -1) * weight) @ member.T
    counts = weight @ member.T
    tiny = torch.finfo(torch.float64).tiny
    return torch.log(summed.clamp_min(tiny) / counts.clamp_min(1.0))


def spectral_features(particles: ParticleSet, *, batch_size: int = 64,
                      progress: Callable[[int, int], None] | None = None
                      ) -> NDArray[np.float64]:
    """:func:`observed_shell_power` of every particle, streamed in batches (memory flat in N).

    Parameters
    ----------
    particles : ParticleSet
    batch_size : int
    progress : callable, optional
        ``progress(done, total)`` after each batch.

    Returns
    -------
    numpy.ndarray, shape (n, N // 2 − 1), float64
    """
    tilts = particles.tilt_ranges()
    rows = []
    for start in range(0, len(particles), batch_size):
        idx = np.arange(start, min(len(particles), start + batch_size))
        rows.append(observed_shell_power(particles.get_batch(idx), tilts[idx]).numpy())
        if progress is not None:
            progress(int(idx[-1]) + 1, len(particles))
    return np.concatenate(rows)


def embed_features(features: ArrayLike, n_components: int = 5) -> NDArray[np.float64]:
    """Standardise every column, then PCA to ``n_components`` (fewer if the data has fewer)."""
    from sklearn.decomposition import PCA

    x = np.asarray(features, dtype=np.float64)
    z = standardise_columns(x)
    dims = min(n_components, z.shape[0] - 1, z.shape[1])
    return PCA(n_components=max(dims, 1), random_state=0).fit_transform(z)
