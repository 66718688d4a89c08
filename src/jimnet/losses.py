"""Jim-Net / Gum-Net losses.

* :func:`alignment_loss` — Gum-Net's ``1 − r²`` (Pearson ``r`` between the imputed output and the
  target), per sample by default, batch-pooled on request (Gum-Net's code quirk).
* :func:`fourier_correlation` — Pearson-type correlation restricted to a Fourier mask (constrained
  correlation); equals :func:`pearson_r` for a full mask.
* :func:`masked_alignment_loss` — ``1 − r²`` over the frequencies observed in both volumes, the
  imputation-free alternative to :func:`alignment_loss` (see its docstring for why).
* :func:`rigid_regularization` (L_R, supplement eq. 1) and :func:`affine_regularization`
  (L_A, eq. 2), in 3D and 2D: the integral over the unit ball ``V`` of ``‖(Ax + s) − x‖²``.
* :func:`identity_mask`, :func:`soft_inlier_score`, :func:`soft_inlier_loss` — WeakAlign's soft
  inlier count (eqs. 3–4), for the 2D model.
* :func:`saturation_guard` — keeps a pose head's pre-activations out of saturation.
* :func:`box_guard` — keeps the predicted shift from pushing the particle out of the box.
* :func:`cluster_cross_entropy` — cross-entropy of the cluster head against GMM labels.
* :func:`jimnet_3d_loss` — the total 3D loss of METHOD.md §4.5 with its parts.
* :func:`warped_identity_mask`, :func:`jimnet_2d_loss` — the 2D loss of the authors' code
  (METHOD.md §4.5): soft inlier scores of the affine and composed warps + α·CE (+ optional L_A).

Shifts in L_R / L_A are in **normalised** units (1 = half the box, the unit ball's radius); use
:func:`jimnet.models.heads.voxel_to_normalised_shift` to convert voxel shifts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from jimnet.transform.warp2d import transform_grid, warp_image

Reduction = Literal["mean", "sum", "none"]


def _reduce(x: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    if reduction == "none":
        return x
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


# --------------------------------------------------------------------------------------------
# Alignment (matching) loss
# --------------------------------------------------------------------------------------------

def pearson_r(x: torch.Tensor, y: torch.Tensor, *, batch_pooled: bool = False,
              eps: float = 1e-12) -> torch.Tensor:
    """Pearson correlation of ``x`` and ``y``, clipped to [−1, 1].

    Parameters
    ----------
    x, y : torch.Tensor, shape (B, ...)
        Same shape.
    batch_pooled : bool
        ``False``: one ``r`` per sample (over all non-batch axes), shape (B,). ``True``: a single
        ``r`` over the whole tensor (Gum-Net ``correlation_coefficient_loss``), shape ().
    eps : float
        Guards the denominator of constant inputs.
    """
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    xf = x.reshape(1, -1) if batch_pooled else x.reshape(x.shape[0], -1)
    yf = y.reshape(1, -1) if batch_pooled else y.reshape(y.shape[0], -1)
    xc = xf - xf.mean(dim=1, keepdim=True)
    yc = yf - yf.mean(dim=1, keepdim=True)
    num = (xc * yc).sum(dim=1)
    den = torch.sqrt((xc * xc).sum(dim=1) * (yc * yc).sum(dim=1) + eps)
    r = torch.clamp(num / den, -1.0, 1.0)
    return r[0] if batch_pooled else r


def alignment_loss(output: torch.Tensor, target: torch.Tensor, *, batch_pooled: bool = False,
                   reduction: Reduction = "mean") -> torch.Tensor:
    """Gum-Net alignment loss ``1 − r²`` between the (imputed) output and the target.

    Parameters
    ----------
    output, target : torch.Tensor, shape (B, D, H, W) (any (B, ...) works)
    batch_pooled : bool
        Gum-Net fidelity flag: one ``r`` over the whole batch (then ``reduction`` is moot).
    reduction : {"mean", "sum", "none"}
        Over the per-sample losses.

    Returns
    -------
    torch.Tensor
        Scalar (or (B,) with ``reduction="none"`` and per-sample ``r``), in [0, 1].
    """
    r = pearson_r(output, target, batch_pooled=batch_pooled)
    loss = 1.0 - r * r
    return loss if batch_pooled else _reduce(loss, reduction)


def fourier_correlation(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None, *,
                        eps: float = 1e-12) -> torch.Tensor:
    """Correlation restricted to Fourier mask ``M`` (DC excluded), per sample.

    ``r = Re Σ_{k∈M, k≠0} X(k) Y*(k) / sqrt(Σ_{M, k≠0} |X|² · Σ_{M, k≠0} |Y|²)``. With a full mask
    this equals :func:`pearson_r` (Parseval); with ``M = R(M_obs) ∧ M_obs(Y)`` it is the
    constrained correlation over the frequencies observed in both volumes.

    Parameters
    ----------
    x, y : torch.Tensor, shape (B, D, H, W)
    mask : torch.Tensor, optional, broadcastable to (B, D, H, W)
        Unshifted FFT layout (DC at index 0). Default: all frequencies.

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    dims = (-3, -2, -1)
    fx = torch.fft.fftn(x, dim=dims)
    fy = torch.fft.fftn(y, dim=dims)
    weight = torch.ones(x.shape[-3:], dtype=x.dtype, device=x.device)
    weight[0, 0, 0] = 0.0
    if mask is not None:
        weight = weight * mask.to(x.dtype)
    num = (fx * fy.conj()).real.mul(weight).flatten(-3).sum(-1)
    px = (fx.abs() ** 2).mul(weight).flatten(-3).sum(-1)
    py = (fy.abs() ** 2).mul(weight).flatten(-3).sum(-1)
    return torch.clamp(num / torch.sqrt(px * py + eps), -1.0, 1.0)


def masked_alignment_loss(warped: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, *,
                          reduction: Reduction = "mean") -> torch.Tensor:
    """``1 − r_M²``, ``r_M`` = :func:`fourier_correlation` of the warped source and the target
    over ``mask`` (typically :func:`jimnet.fourier.common_wedge_mask` of the predicted rotation).

    Why not Gum-Net's imputation: the imputed output carries the target's own coefficients in the
    source's rotated missing wedge, so it correlates with the target whatever the pose; at low
    SNR a rotation that merely moves the wedge lowers ``1 − r²`` far more than the correct pose
    does (``benchmarks/bench_imputation.py``). Over the common observed region only source data
    meets target data, so that reward disappears. The hard mask carries no gradient; the pose
    gradient flows through ``warped``.

    Parameters
    ----------
    warped, target : torch.Tensor, shape (B, D, H, W)
        The source warped by the predicted pose (no imputation) and the target.
    mask : torch.Tensor, shape broadcastable to (B, D, H, W)
        0/1, unshifted FFT layout (DC at index 0).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor, scalar (or (B,) with ``reduction="none"``), in [0, 1].
    """
    r = fourier_correlation(warped, target, mask.detach())
    return _reduce(1.0 - r * r, reduction)


# --------------------------------------------------------------------------------------------
# Fine-transformation regularisation L_R (eq. 1) and L_A (eq. 2)
# --------------------------------------------------------------------------------------------

def unit_ball_moments(n: int) -> tuple[float, float]:
    """``(∫_V ‖x‖² dx, |V|)`` of the unit ``n``-ball: ``(π/2, π)`` in 2D, ``(4π/5, 4π/3)`` in 3D."""
    volume = math.pi ** (n / 2) / math.gamma(n / 2 + 1)
    return n / (n + 2) * volume, volume


def affine_regularization(matrix: torch.Tensor, shift: torch.Tensor, *,
                          reduction: Reduction = "none") -> torch.Tensor:
    """L_A (supplement eq. 2, any dimension): ``∫_V ‖(Ax + s) − x‖² dx`` over the unit ball.

    ``= (∫_V‖x‖²/n) · (n + tr(AᵀA) − 2 tr A) + |V| sᵀs``; in 3D
    ``(4π/3)((1/5)(3 + tr(AᵀA) − 2 tr A) + sᵀs)``, in 2D ``(π/4)(2 + tr(AᵀA) − 2 tr A) + π sᵀs``.

    Parameters
    ----------
    matrix : torch.Tensor, shape (B, n, n)
        Linear part ``A`` (n = 2 or 3; any n works).
    shift : torch.Tensor, shape (B, n)
        Shift ``s`` in normalised units (1 = the ball's radius = half the box).
    reduction : {"none", "mean", "sum"}

    Returns
    -------
    torch.Tensor, shape (B,) (or scalar when reduced).
    """
    n = matrix.shape[-1]
    second, volume = unit_ball_moments(n)
    tr_ata = (matrix * matrix).sum(dim=(-2, -1))
    tr_a = torch.diagonal(matrix, dim1=-2, dim2=-1).sum(-1)
    loss = second / n * (n + tr_ata - 2.0 * tr_a) + volume * (shift * shift).sum(-1)
    return _reduce(loss, reduction)


def rigid_regularization(rotation: torch.Tensor, shift: torch.Tensor, *,
                         reduction: Reduction = "none") -> torch.Tensor:
    """L_R (supplement eq. 1): L_A with ``tr(AᵀA) = n`` for a rotation ``A``.

    3D: ``(4π/3)((2/5)(3 − tr A) + sᵀs)`` ``= (4π/3)((4/5)(1 − cos ω) + ‖s‖²)``;
    2D: ``(π/2)(2 − tr A) + π sᵀs``.

    Parameters
    ----------
    rotation : torch.Tensor, shape (B, n, n)
    shift : torch.Tensor, shape (B, n), normalised units
    reduction : {"none", "mean", "sum"}

    Returns
    -------
    torch.Tensor, shape (B,) (or scalar when reduced).
    """
    n = rotation.shape[-1]
    second, volume = unit_ball_moments(n)
    tr_a = torch.diagonal(rotation, dim1=-2, dim2=-1).sum(-1)
    loss = second / n * (2.0 * n - 2.0 * tr_a) + volume * (shift * shift).sum(-1)
    return _reduce(loss, reduction)


def pose_displacement_loss(rotation: torch.Tensor, shift: torch.Tensor,
                           true_rotation: torch.Tensor, true_shift: torch.Tensor, *,
                           half_box: float, reduction: Reduction = "mean") -> torch.Tensor:
    """``∫_V ‖T(x) − T_true(x)‖² dx`` over the unit ball (radius = half the box): a pose loss
    for pairs whose relative pose is known.

    ``‖T(x) − T_true(x)‖ = ‖T_true⁻¹T(x) − x‖``, so this is :func:`rigid_regularization` of
    ``(R_trueᵀ R, R_trueᵀ (t − t_true) / half_box)``.

    Parameters
    ----------
    rotation, true_rotation : torch.Tensor, shape (B, n, n)
    shift, true_shift : torch.Tensor, shape (B, n), voxels
    half_box : float
        Voxels per normalised unit (half the box edge).
    reduction : {"none", "mean", "sum"}
    """
    rel_r = true_rotation.transpose(-1, -2) @ rotation
    rel_t = (true_rotation.transpose(-1, -2) @ (shift - true_shift)[..., None])[..., 0]
    return rigid_regularization(rel_r, rel_t / half_box, reduction=reduction)


def box_guard(shift: torch.Tensor, shape: Sequence[int], *, core: float = 0.125,
              reduction: Reduction = "mean") -> torch.Tensor:
    """Penalty on shifts that push the particle's core out of the box.

    ``Σ_axes relu((|t_a| − (N_a/2 − core·N_a)) / (N_a/2))²``: zero while a ball of radius
    ``core·N`` around the (centred) particle stays inside the box, growing quadratically beyond.
    Rotations are about the box centre and cannot move the ball, so only the shift matters. Once
    the source has left the box the alignment loss is flat (``r = 0``, no gradient: a dead
    network); this term still pulls it back.

    Parameters
    ----------
    shift : torch.Tensor, shape (B, 3)
        zyx shifts in voxels.
    shape : (D, H, W)
    core : float
        Core radius as a fraction of the edge (1/8: the guard starts at ±3N/8, ±12 voxels for
        N = 32).
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor, scalar (or (B,) with ``reduction="none"``)
    """
    n = torch.as_tensor([float(x) for x in shape], dtype=shift.dtype, device=shift.device)
    excess = torch.relu(shift.abs() - (n / 2.0 - core * n)) / (n / 2.0)
    return _reduce((excess * excess).sum(-1), reduction)


def saturation_guard(raw: torch.Tensor, *, limit: float = 2.5,
                     reduction: Reduction = "mean") -> torch.Tensor:
    """Penalty ``Σ relu(|raw| − limit)²`` on a pose head's pre-activations.

    A sigmoid/tanh output driven to its bound has no gradient left; on a flat loss (no pose
    information) Adam's normalised steps still move the head, so without a restoring force
    the outputs drift into saturation and stay there (a dead network). ``limit = 2.5`` keeps
    every ``tanh`` below 0.987 and every sigmoid within [0.076, 0.924]
    (:data:`jimnet.models.heads.SATURATION_LEVEL` is 0.99).

    Parameters
    ----------
    raw : torch.Tensor, shape (B, 6) or (B, 4)
        :func:`jimnet.models.heads.raw_outputs` of a stage.
    limit : float
    reduction : {"mean", "sum", "none"}
    """
    excess = torch.relu(raw.abs() - limit)
    return _reduce((excess * excess).sum(-1), reduction)


# --------------------------------------------------------------------------------------------
# Soft inlier loss (eqs. 3–4), 2D
# --------------------------------------------------------------------------------------------

def identity_mask(grid_shape: Sequence[int], threshold: float = 0.5, *,
                  dtype: torch.dtype | None = None,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """Eq. 3: ``m[p, q] = 1`` if ``‖p − q‖₂ < threshold`` (grid units), else 0.

    Laid out like :func:`jimnet.models.layers.global_correlation`: channel ``p`` is a position of
    the *source* features flattened row-major, spatial axes ``q`` the *target* grid. The default
    threshold 0.5 keeps exact matches only (WeakAlign's dilation filter 0).

    Returns
    -------
    torch.Tensor, shape (1, prod(grid_shape), *grid_shape)
    """
    axes = [torch.arange(n, dtype=torch.float64) for n in grid_shape]
    pos = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(grid_shape))
    dist = torch.cdist(pos, pos)
    mask = (dist < threshold).to(dtype or torch.get_default_dtype())
    return mask.reshape(1, pos.shape[0], *grid_shape).to(device)


def soft_inlier_score(corr: torch.Tensor, warped_mask: torch.Tensor, *,
                      normalize: bool = True) -> torch.Tensor:
    """Soft inlier count ``Σ c ⊙ 𝒯(m¹, φ)`` per sample (eq. 4 without the minus sign).

    Parameters
    ----------
    corr : torch.Tensor, shape (B, P, *grid)
        Correlation tensor (ReLU + L2-normalised, :class:`~jimnet.models.layers.GlobalCorrelation`
        with ``"relu_l2"``), channels = source positions.
    warped_mask : torch.Tensor, shape (B or 1, P, *grid)
        :func:`identity_mask` warped spatially (over ``grid``) by the predicted transformation, as
        the source image is (the caller owns the warp: affine, TPS, rigid …).
    normalize : bool
        Divide by the mask's total (+1e−5), as WeakAlign's ``normalize_inlier_count``: the score is
        then a weighted mean correlation.

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    mask = warped_mask.expand_as(corr)
    score = (corr * mask).flatten(1).sum(1)
    if normalize:
        score = score / (mask.flatten(1).sum(1) + 1e-5)
    return score


def soft_inlier_loss(corr: torch.Tensor, warped_mask: torch.Tensor, *, normalize: bool = True,
                     reduction: Reduction = "mean") -> torch.Tensor:
    """Eq. 4: ``L_SIL = −Σ c ⊙ 𝒯(m¹, φ)`` (see :func:`soft_inlier_score`)."""
    return _reduce(-soft_inlier_score(corr, warped_mask, normalize=normalize), reduction)


# --------------------------------------------------------------------------------------------
# Clustering loss and the total 3D loss
# --------------------------------------------------------------------------------------------

def cluster_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, *,
                          reduction: Reduction = "mean") -> torch.Tensor:
    """Cross-entropy of the cluster head against GMM labels (no gradient through the labels).

    Parameters
    ----------
    logits : torch.Tensor, shape (B, K)
        Unnormalised scores of M_CP.
    labels : torch.Tensor
        Hard labels, integer shape (B,), or one-hot / soft targets, float shape (B, K).
    reduction : {"mean", "sum", "none"}
    """
    labels = labels.detach()
    if labels.is_floating_point():
        loss = -(labels * F.log_softmax(logits, dim=-1)).sum(-1)
    else:
        loss = F.cross_entropy(logits, labels.long(), reduction="none")
    return _reduce(loss, reduction)


def jimnet_3d_loss(
    output: torch.Tensor,
    target: torch.Tensor,
    *,
    coarse_output: torch.Tensor | None = None,
    fine_rotation: torch.Tensor | None = None,
    fine_shift: torch.Tensor | None = None,
    cluster_logits: torch.Tensor | None = None,
    cluster_labels: torch.Tensor | None = None,
    coarse_weight: float = 1.0,
    lambda_r: float = 0.1,
    alpha: float = 0.01,
    batch_pooled: bool = False,
    output_mask: torch.Tensor | None = None,
    coarse_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total 3D loss (METHOD.md §4.5 proposal).

    ``L = L_align(output) + coarse_weight·L_align(coarse_output) + λ_R·L_R(fine) + α·CE``; terms
    whose inputs are ``None`` (or whose weight is 0) are skipped.

    Parameters
    ----------
    output, target : torch.Tensor, shape (B, D, H, W)
        Final imputed output and the target.
    coarse_output : torch.Tensor, optional
        Imputed coarse-stage output.
    fine_rotation, fine_shift : torch.Tensor, optional, shapes (B, 3, 3), (B, 3)
        Fine-stage pose; ``fine_shift`` in **normalised** units (``τ``).
    cluster_logits, cluster_labels : torch.Tensor, optional
        M_CP logits (B, K) and GMM labels of the sources.
    coarse_weight, lambda_r, alpha : float
        Weights (defaults: 1, 0.1, 0.01).
    batch_pooled : bool
        Gum-Net's batch-pooled ``r``.
    output_mask, coarse_mask : torch.Tensor, optional
        Fourier masks: the corresponding alignment term becomes :func:`masked_alignment_loss`
        (then ``output``/``coarse_output`` should be the plain, non-imputed warps).

    Returns
    -------
    (total, parts)
        Scalar total and a dict of the unweighted scalar parts (``align``, ``align_coarse``,
        ``reg``, ``ce``; those computed).
    """
    def align(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if mask is None:
            return alignment_loss(x, target, batch_pooled=batch_pooled)
        return masked_alignment_loss(x, target, mask)

    parts: dict[str, torch.Tensor] = {"align": align(output, output_mask)}
    total = parts["align"]
    if coarse_output is not None and coarse_weight:
        parts["align_coarse"] = align(coarse_output, coarse_mask)
        total = total + coarse_weight * parts["align_coarse"]
    if fine_rotation is not None and fine_shift is not None and lambda_r:
        parts["reg"] = rigid_regularization(fine_rotation, fine_shift, reduction="mean")
        total = total + lambda_r * parts["reg"]
    if cluster_logits is not None and cluster_labels is not None and alpha:
        parts["ce"] = cluster_cross_entropy(cluster_logits, cluster_labels)
        total = total + alpha * parts["ce"]
    return total, parts


# --------------------------------------------------------------------------------------------
# The total 2D loss
# --------------------------------------------------------------------------------------------

def warped_identity_mask(grid_hw: Sequence[int], theta_aff: torch.Tensor | None,
                         theta_tps: torch.Tensor | None = None, *, tps_grid: int = 3
                         ) -> torch.Tensor:
    """𝒯(m¹, φ): :func:`identity_mask` on the ``h × w`` feature grid warped spatially (bilinear,
    zeros outside) by the affine, TPS or composed transformation (target → source, as the source
    image is warped; :mod:`jimnet.transform.warp2d`).

    Returns
    -------
    torch.Tensor, shape (B, h·w, h, w)
    """
    ref = theta_aff if theta_aff is not None else theta_tps
    h, w = grid_hw
    mask = identity_mask((h, w), dtype=ref.dtype, device=ref.device)
    grid = transform_grid(h, w, theta_aff, theta_tps, tps_grid)
    return warp_image(mask.expand(len(ref), -1, -1, -1), grid)


def jimnet_2d_loss(
    correlation: torch.Tensor,
    theta_aff: torch.Tensor,
    theta_tps: torch.Tensor,
    *,
    tps_grid: int = 3,
    cluster_logits: torch.Tensor | None = None,
    cluster_labels: torch.Tensor | None = None,
    alpha: float = 0.01,
    lambda_a: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total 2D loss: ``−mean(s_aff + s_comp) + α·CE + λ_A·L_A(θ_aff)``.

    ``s_aff`` / ``s_comp`` are the normalised soft inlier scores (:func:`soft_inlier_score`) of the
    affine and the composed affine∘TPS warps, both on the stage-1 correlation (as WeakAlign's and
    the authors' code). L_A (eq. 2, off by default as in the code) penalises the affine's distance
    from the identity.

    Parameters
    ----------
    correlation : torch.Tensor, shape (B, h·w, h, w)
        ReLU + L2-normalised global correlation of (source, target) features.
    theta_aff, theta_tps : torch.Tensor, shapes (B, 2, 3) and (B, 2·g²)
    cluster_logits, cluster_labels : torch.Tensor, optional
        M_CP logits (B, K) and the GMM labels of the sources.

    Returns
    -------
    (total, parts)
        Scalar total and the unweighted scalar parts (``inlier_aff``, ``inlier_comp`` — scores,
        higher is better — and ``ce``, ``reg`` where computed).
    """
    grid = tuple(correlation.shape[-2:])
    s_aff = soft_inlier_score(correlation, warped_identity_mask(grid, theta_aff))
    s_comp = soft_inlier_score(correlation,
                               warped_identity_mask(grid, theta_aff, theta_tps, tps_grid=tps_grid))
    parts = {"inlier_aff": s_aff.mean(), "inlier_comp": s_comp.mean()}
    total = -(parts["inlier_aff"] + parts["inlier_comp"])
    if cluster_logits is not None and cluster_labels is not None and alpha:
        parts["ce"] = cluster_cross_entropy(cluster_logits, cluster_labels)
        total = total + alpha * parts["ce"]
    if lambda_a:
        parts["reg"] = affine_regularization(theta_aff[:, :, :2], theta_aff[:, :, 2],
                                             reduction="mean")
        total = total + lambda_a * parts["reg"]
    return total, parts
