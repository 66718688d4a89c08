"""Wedge-preserving random perturbations of subtomograms (the baselines' augmentations).

The missing wedge is fixed in the tomogram frame (tilt axis ``y``, beam ``z``; arrays are zyx and
frequencies ``k = (k_z, k_y, k_x)``). A particle tilted over ``[a, b]`` observes the frequencies
whose angle ``β = atan(k_z / k_x)`` lies in ``[a, b]`` (:func:`jimnet.fourier.wedge_mask`). So an
augmentation may only map that set onto itself:

* flipping ``y`` (``k_y → −k_y``) and the 180° rotation about ``y`` (flip ``z`` and ``x``:
  ``β → β``) preserve every wedge;
* flipping ``z`` or ``x`` alone, or the 180° rotation about ``z`` (flip ``y`` and ``x``), map
  ``β → −β``: they preserve symmetric ranges ``[−a, a]`` only;
* integer circular shifts (``torch.roll``) and intensity scaling only change phases/amplitudes;
* additive noise must itself lie in the wedge: white noise filtered by the particle's observed
  mask (what a reconstruction from the same tilts contains).

This is exact on the discrete Fourier grid, except on the ``k_z``/``k_x`` Nyquist planes of an
even box for an asymmetric range: there ``−0.5 ≡ +0.5`` cycles/voxel, so the side of the wedge
is undefined (a real volume cannot even be restricted to such a mask there).
Arbitrary rotations would rotate the wedge relative to the detector frame and are not offered.
Every function is pure and draws its randomness from the ``torch.Generator`` passed in (a CPU
generator; the draws are moved to the volumes' device), so results do not depend on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "AugmentConfig",
    "allowed_flips",
    "augment",
    "flip_volume",
    "random_flips",
    "random_intensity_scale",
    "random_shifts",
    "wedge_noise",
]

#: Every combination of axis flips, as flags ``(flip z, flip y, flip x)``.
_ALL_FLIPS = tuple((z, y, x) for z in (False, True) for y in (False, True) for x in (False, True))


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths of :func:`augment`.

    Attributes
    ----------
    max_shift : int
        Integer shifts are drawn uniformly from ``[−max_shift, max_shift]`` voxels per axis.
    noise_sigma : float
        Std of the added (wedge-filtered) noise relative to each volume's std; 0 disables it.
    scale_range : float
        Intensities are multiplied by ``U(1 − scale_range, 1 + scale_range)``.
    proper_only : bool
        Only flips that are proper rotations (an even number of flipped axes, i.e. 180°
        rotations), keeping the particle's handedness; ``False`` also allows mirrors.
    """

    max_shift: int = 2
    noise_sigma: float = 0.1
    scale_range: float = 0.1
    proper_only: bool = False


def allowed_flips(symmetric_wedge: bool, proper_only: bool = False
                  ) -> tuple[tuple[bool, bool, bool], ...]:
    """The axis flips ``(z, y, x)`` that map a wedge onto itself.

    Parameters
    ----------
    symmetric_wedge : bool
        The tilt range is ``[−a, a]`` (every flip is allowed); otherwise ``z`` and ``x`` must be
        flipped together (identity, ``y``, 180° about ``y`` and their product).
    proper_only : bool
        Keep only proper rotations (an even number of flipped axes).

    Returns
    -------
    tuple of (bool, bool, bool)
        Always contains the identity first.
    """
    flips = [f for f in _ALL_FLIPS if symmetric_wedge or f[0] == f[2]]
    if proper_only:
        flips = [f for f in flips if sum(f) % 2 == 0]
    return tuple(flips)


def flip_volume(volume: torch.Tensor, flips: Sequence[bool]) -> torch.Tensor:
    """Flip the last three (z, y, x) axes of ``volume`` where ``flips`` is True."""
    dims = [d - 3 for d, f in enumerate(flips) if f]
    return torch.flip(volume, dims) if dims else volume


def _per_sample(flag: bool | Sequence[bool] | torch.Tensor, n: int) -> list[bool]:
    if isinstance(flag, bool):
        return [flag] * n
    flags = [bool(f) for f in (flag.tolist() if isinstance(flag, torch.Tensor) else flag)]
    if len(flags) != n:
        raise ValueError(f"expected {n} per-sample flags, got {len(flags)}")
    return flags


def random_flips(volumes: torch.Tensor, generator: torch.Generator, *,
                 symmetric_wedge: bool | Sequence[bool] | torch.Tensor = True,
                 proper_only: bool = False) -> torch.Tensor:
    """Flip each volume by a uniformly drawn element of :func:`allowed_flips`.

    Parameters
    ----------
    volumes : torch.Tensor, shape (B, D, H, W)
    generator : torch.Generator
    symmetric_wedge : bool or sequence of bool, shape (B,)
        Whether each particle's tilt range is symmetric about 0.
    proper_only : bool
        No mirrors (see :func:`allowed_flips`).

    Returns
    -------
    torch.Tensor, shape (B, D, H, W)
    """
    sym = _per_sample(symmetric_wedge, len(volumes))
    out = []
    for v, s in zip(volumes, sym, strict=True):
        choices = allowed_flips(s, proper_only)
        pick = int(torch.randint(len(choices), (1,), generator=generator))
        out.append(flip_volume(v, choices[pick]))
    return torch.stack(out) if out else volumes


def random_shifts(volumes: torch.Tensor, generator: torch.Generator, max_shift: int = 2
                  ) -> torch.Tensor:
    """Circularly shift each volume by integers drawn from ``[−max_shift, max_shift]`` per axis.

    Parameters
    ----------
    volumes : torch.Tensor, shape (B, D, H, W)

    Returns
    -------
    torch.Tensor, shape (B, D, H, W)
        ``torch.roll`` of each volume (its Fourier magnitude is unchanged).
    """
    if max_shift <= 0:
        return volumes
    shifts = torch.randint(-max_shift, max_shift + 1, (len(volumes), 3), generator=generator)
    return torch.stack([torch.roll(v, s.tolist(), dims=(-3, -2, -1))
                        for v, s in zip(volumes, shifts, strict=True)]) if len(volumes) else volumes


def random_intensity_scale(volumes: torch.Tensor, generator: torch.Generator,
                           scale_range: float = 0.1) -> torch.Tensor:
    """Multiply each volume (B, D, H, W) by a factor drawn from ``U(1 − r, 1 + r)``."""
    if scale_range <= 0:
        return volumes
    u = torch.rand(len(volumes), generator=generator, dtype=torch.float64)
    factor = (1.0 + scale_range * (2.0 * u - 1.0)).to(volumes.device, volumes.dtype)
    return volumes * factor.reshape(-1, 1, 1, 1)


def wedge_noise(shape: Sequence[int], generator: torch.Generator,
                observed: torch.Tensor | None = None) -> torch.Tensor:
    """Unit-std Gaussian noise, optionally restricted to the observed Fourier region.

    Parameters
    ----------
    shape : (B, D, H, W)
    generator : torch.Generator
    observed : torch.Tensor, shape (D, H, W // 2 + 1) or (B, D, H, W // 2 + 1), optional
        0/1 observed masks in the ``"rfft"`` layout (:func:`jimnet.fourier.wedge_mask` with
        ``layout="rfft"``). ``None`` gives white noise (not wedge-preserving).

    Returns
    -------
    torch.Tensor, shape (B, D, H, W), float32 on CPU
        Each volume standardised to mean 0 (unless the DC term is masked) and std 1.
    """
    noise = torch.randn(tuple(shape), generator=generator, dtype=torch.float64)
    if observed is not None:
        spec = torch.fft.rfftn(noise, dim=(-3, -2, -1)) * observed.to("cpu", torch.float64)
        noise = torch.fft.irfftn(spec, s=tuple(shape[-3:]), dim=(-3, -2, -1))
    std = noise.flatten(1).std(dim=1).clamp_min(1e-12)
    return (noise / std.reshape(-1, 1, 1, 1)).float()


def augment(volumes: torch.Tensor, generator: torch.Generator, *,
            observed: torch.Tensor | None = None,
            symmetric_wedge: bool | Sequence[bool] | torch.Tensor = True,
            config: AugmentConfig | None = None) -> torch.Tensor:
    """A random wedge-preserving perturbation: flips, shifts, scaling, then wedge noise.

    Parameters
    ----------
    volumes : torch.Tensor, shape (B, D, H, W)
        Normalised subtomograms (zyx).
    generator : torch.Generator
        CPU generator: the only source of randomness.
    observed : torch.Tensor, shape (D, H, W // 2 + 1) or (B, D, H, W // 2 + 1), optional
        The particles' observed masks (``rfft`` layout) for the noise; ``None`` adds white noise.
        Flips and shifts map each wedge onto itself, so the mask of the input is also that of
        the output.
    symmetric_wedge : bool or sequence of bool, shape (B,)
        Per-particle ``tilt_min == −tilt_max`` (enables the flips that reverse ``β``).
    config : AugmentConfig, optional

    Returns
    -------
    torch.Tensor, shape (B, D, H, W)
    """
    cfg = config or AugmentConfig()
    out = random_flips(volumes, generator, symmetric_wedge=symmetric_wedge,
                       proper_only=cfg.proper_only)
    out = random_shifts(out, generator, cfg.max_shift)
    out = random_intensity_scale(out, generator, cfg.scale_range)
    if cfg.noise_sigma > 0 and len(out):
        noise = wedge_noise(out.shape, generator, observed).to(out.device, out.dtype)
        scale = cfg.noise_sigma * out.flatten(1).std(dim=1).reshape(-1, 1, 1, 1)
        out = out + scale * noise
    return out
