"""Missing-wedge imputation of the warped source with the target's Fourier coefficients.

Gum-Net's ``RigidTransformation3DImputation`` (METHOD.md §3.6)::

    Ŷ = Re IFFT( FFT(T(X)) ⊙ R(M_obs) + FFT(Y) ⊙ R(M_miss) )

where ``T`` is the predicted pose, ``R(M)`` the source's observed / missing masks after rotation
by ``T``'s rotation. Here the masks are evaluated **analytically** at the rotated frequencies
``Rᵀ k`` about the DC index ``N//2`` by :func:`jimnet.fourier.wedge_masks` (never interpolated),
in the unshifted FFT layout, so no ``fftshift`` is needed. The translation does not enter the
masks (it only changes Fourier phases).

The masks are hard 0/1 functions of ``R``; gradients with respect to the pose therefore flow only
through the image warp ``T(X)`` (Gum-Net's interpolated mask warp also passes gradient through the
mask edges). See docs/design-choices.md.

Variants (``mode``):

* ``"gumnet"`` (default): as above; ``M_obs = wedge ∧ sphere``, ``M_miss = 1 − M_obs``.
* ``"constrained"``: also respect the **target's** own wedge. The source is kept only where it is
  observed *and* the target is observed, ``O = R(M_obs) ⊙ M_obs(Y)``, and the target fills the rest
  (``1 − O``). Where the target has no data the copy is empty; where only the target has data it
  is copied, so — like ``"gumnet"`` — the output correlates with the target whatever the pose.
  For a loss over the common observed region only, use
  :func:`jimnet.losses.masked_alignment_loss` on the plain warp.
* ``"none"``: no imputation, ``Ŷ = T(X)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from jimnet.fourier import wedge_mask, wedge_masks

ImputationMode = Literal["gumnet", "constrained", "none"]
TiltRange = tuple[float | torch.Tensor, float | torch.Tensor]


def impute_fourier(warped: torch.Tensor, target: torch.Tensor, observed: torch.Tensor,
                   missing: torch.Tensor | None = None) -> torch.Tensor:
    """``Re IFFT(FFT(warped)·observed + FFT(target)·missing)`` over the last three axes.

    Parameters
    ----------
    warped, target : torch.Tensor, shape (B, D, H, W)
        Real volumes (the warped source and the target).
    observed : torch.Tensor, shape broadcastable to (B, D, H, W)
        Mask (unshifted FFT layout, DC at index 0) of the frequencies taken from ``warped``.
    missing : torch.Tensor, optional
        Mask of the frequencies taken from ``target``; default ``1 − observed``.

    Returns
    -------
    torch.Tensor, shape (B, D, H, W), real. Differentiable in ``warped`` and ``target``.
    """
    if warped.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(warped.shape)} vs {tuple(target.shape)}")
    if missing is None:
        missing = 1.0 - observed
    dims = (-3, -2, -1)
    spec = (torch.fft.fftn(warped, dim=dims) * observed.to(warped.dtype)
            + torch.fft.fftn(target, dim=dims) * missing.to(warped.dtype))
    return torch.fft.ifftn(spec, dim=dims).real


def _tilt_tensors(tilt: TiltRange, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lo, hi = tilt
    return (torch.as_tensor(lo, dtype=like.dtype, device=like.device),
            torch.as_tensor(hi, dtype=like.dtype, device=like.device))


def rotated_wedge_masks(shape: Sequence[int], tilt: TiltRange, rotation: torch.Tensor, *,
                        sphere: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Source masks ``(R(M_obs), R(M_miss))`` after rotation by ``rotation``, unshifted layout.

    Parameters
    ----------
    shape : (D, H, W)
    tilt : (tilt_min_deg, tilt_max_deg)
        Floats, or tensors of shape (B,) for per-sample ranges.
    rotation : torch.Tensor, shape (B, 3, 3)
        The predicted rotation (detached internally: the hard mask has no gradient).
    sphere : bool
        Restrict the observed region to ``|k| ≤ 0.5`` cycles/voxel (METHOD.md §3.6 proposal).

    Returns
    -------
    (torch.Tensor, torch.Tensor), each of shape (B, D, H, W), values 0/1.
    """
    rot = rotation.detach()
    lo, hi = _tilt_tensors(tilt, rot)
    return wedge_masks(shape, lo, hi, rot, sphere=sphere, layout="unshifted", dtype=rot.dtype,
                       device=rot.device)


def wedge_imputation(warped: torch.Tensor, target: torch.Tensor, rotation: torch.Tensor,
                     source_tilt: TiltRange, *, target_tilt: TiltRange | None = None,
                     mode: ImputationMode = "gumnet", sphere: bool = True) -> torch.Tensor:
    """Impute the source's missing wedge (after rotation) with the target's coefficients.

    Parameters
    ----------
    warped : torch.Tensor, shape (B, D, H, W)
        The source warped by the predicted pose ``(rotation, shift)``.
    target : torch.Tensor, shape (B, D, H, W)
        The target volume (unrotated; its wedge is in the default orientation).
    rotation : torch.Tensor, shape (B, 3, 3)
        Rotation of the predicted pose (zyx).
    source_tilt : (tilt_min_deg, tilt_max_deg)
        Tilt range of the source (floats or (B,) tensors).
    target_tilt : (tilt_min_deg, tilt_max_deg), optional
        Tilt range of the target; required by ``mode="constrained"``, ignored otherwise.
    mode : {"gumnet", "constrained", "none"}
        See the module docstring.
    sphere : bool
        Include the sphere cut-off in the observed masks.

    Returns
    -------
    torch.Tensor, shape (B, D, H, W)
        The imputed volume ``Ŷ`` compared with the target by the alignment loss.
    """
    if mode == "none":
        return warped
    shape = tuple(warped.shape[-3:])
    observed, missing = rotated_wedge_masks(shape, source_tilt, rotation, sphere=sphere)
    if mode == "gumnet":
        return impute_fourier(warped, target, observed, missing)
    if mode != "constrained":
        raise ValueError(f"mode must be 'gumnet', 'constrained' or 'none', got {mode!r}")
    if target_tilt is None:
        raise ValueError("mode='constrained' needs target_tilt")
    lo, hi = _tilt_tensors(target_tilt, warped)
    target_obs = wedge_mask(shape, lo, hi, None, sphere=sphere, layout="unshifted",
                            dtype=warped.dtype, device=warped.device)
    both = observed * target_obs
    return impute_fourier(warped, target, both, 1.0 - both)
