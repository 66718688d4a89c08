"""The 2D soft-inlier loss: maximal at the true transformation of a synthetic pair."""

import itertools

import numpy as np
import torch

from jimnet.losses import (
    affine_regularization,
    identity_mask,
    jimnet_2d_loss,
    soft_inlier_score,
    warped_identity_mask,
)
from jimnet.models.layers import GlobalCorrelation, feature_l2_norm
from jimnet.transform.warp2d import identity_tps, transform_grid, warp_image

G = 12  # feature grid


def _pair(theta_true: torch.Tensor):
    """Random smooth-ish source features and the target = source warped by theta_true."""
    gen = torch.Generator().manual_seed(0)
    fs = torch.nn.functional.avg_pool2d(torch.randn(1, 16, G, G, generator=gen), 3, 1, 1)
    ft = warp_image(fs, transform_grid(G, G, theta_aff=theta_true))
    corr = GlobalCorrelation("relu_l2")(feature_l2_norm(fs), feature_l2_norm(ft))
    return corr


def _affine(dx, dy, angle_deg=0.0):
    a = np.deg2rad(angle_deg)
    return torch.tensor([[[np.cos(a), -np.sin(a), dx], [np.sin(a), np.cos(a), dy]]],
                        dtype=torch.float32)


def test_soft_inlier_score_is_maximal_at_the_true_transformation():
    step = 2.0 / (G - 1)  # one feature cell in normalised units
    truth = (2 * step, -step, 10.0)
    corr = _pair(_affine(*truth))
    scores = {}
    for dx, dy, ang in itertools.product(np.arange(-3, 4) * step, np.arange(-3, 4) * step,
                                         (-10.0, 0.0, 10.0)):
        mask = warped_identity_mask((G, G), _affine(dx, dy, ang))
        scores[(round(dx / step), round(dy / step), ang)] = soft_inlier_score(corr, mask).item()
    best = max(scores, key=scores.get)
    assert best == (2, -1, 10.0)
    assert scores[best] > scores[(0, 0, 0.0)] + 0.1


def test_identity_mask_warped_by_the_identity_is_the_mask():
    theta = _affine(0.0, 0.0)
    out = warped_identity_mask((5, 6), theta, identity_tps(1))
    torch.testing.assert_close(out, identity_mask((5, 6)))


def test_jimnet_2d_loss_parts_and_gradient():
    corr = _pair(_affine(0.0, 0.0))
    theta = _affine(0.0, 0.0).requires_grad_(True)
    tps = identity_tps(1).requires_grad_(True)
    logits = torch.zeros(1, 3, requires_grad=True)
    total, parts = jimnet_2d_loss(corr, theta, tps, cluster_logits=logits,
                                  cluster_labels=torch.tensor([1]), alpha=0.5, lambda_a=2.0)
    expected = -(parts["inlier_aff"] + parts["inlier_comp"]) + 0.5 * np.log(3) + 0.0
    torch.testing.assert_close(total, expected.float())
    torch.testing.assert_close(parts["inlier_aff"], parts["inlier_comp"])  # identity TPS
    total.backward()
    assert theta.grad is not None and torch.isfinite(theta.grad).all()
    assert affine_regularization(theta[:, :, :2], theta[:, :, 2]).item() == 0.0
