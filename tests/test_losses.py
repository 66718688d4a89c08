import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jimnet.geometry import random_rotations
from jimnet.losses import (
    affine_regularization,
    alignment_loss,
    cluster_cross_entropy,
    fourier_correlation,
    identity_mask,
    jimnet_3d_loss,
    masked_alignment_loss,
    pearson_r,
    pose_displacement_loss,
    rigid_regularization,
    soft_inlier_loss,
    soft_inlier_score,
    unit_ball_moments,
)
from jimnet.models.layers import GlobalCorrelation, feature_l2_norm

# ----------------------------------------------------------------------------- alignment loss

def test_pearson_matches_numpy_per_sample_and_pooled():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5, 6))
    y = x + rng.normal(size=x.shape)
    r = pearson_r(torch.from_numpy(x), torch.from_numpy(y))
    expected = [np.corrcoef(x[i].ravel(), y[i].ravel())[0, 1] for i in range(3)]
    np.testing.assert_allclose(r.numpy(), expected, atol=1e-12)
    pooled = pearson_r(torch.from_numpy(x), torch.from_numpy(y), batch_pooled=True)
    assert pooled.shape == ()
    assert float(pooled) == pytest.approx(np.corrcoef(x.ravel(), y.ravel())[0, 1], abs=1e-12)


def test_alignment_loss_values():
    x = torch.randn(2, 6, 6, 6, dtype=torch.float64)
    assert float(alignment_loss(x, 3 * x + 1)) == pytest.approx(0.0, abs=1e-12)
    assert float(alignment_loss(x, -x)) == pytest.approx(0.0, abs=1e-12)  # 1 − r², r = −1
    per = alignment_loss(x, torch.randn_like(x), reduction="none")
    assert per.shape == (2,) and (per >= 0).all() and (per <= 1).all()
    # Batch-pooled differs from per-sample when samples have different means/scales.
    y = x.clone()
    y[1] += 5
    assert float(alignment_loss(x, y)) == pytest.approx(0.0, abs=1e-12)
    assert float(alignment_loss(x, y, batch_pooled=True)) > 0.1
    with pytest.raises(ValueError, match="reduction"):
        alignment_loss(x, y, reduction="max")


def test_fourier_correlation_full_mask_equals_pearson_and_masked_differs():
    x = torch.randn(2, 8, 8, 8, dtype=torch.float64)
    y = x + torch.randn_like(x)
    torch.testing.assert_close(fourier_correlation(x, y), pearson_r(x, y))
    mask = torch.zeros(8, 8, 8, dtype=torch.float64)
    mask[:3] = 1
    mask[-2:] = 1
    r = fourier_correlation(x, y, mask)
    assert r.shape == (2,) and not torch.allclose(r, pearson_r(x, y))


# ------------------------------------------------------------------- L_R / L_A vs Monte Carlo

def _ball_samples(n: int, count: int, rng) -> np.ndarray:
    x = rng.normal(size=(count, n))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x * rng.uniform(size=(count, 1)) ** (1.0 / n)


def _mc_integral(matrix: np.ndarray, shift: np.ndarray, rng, count: int = 200_000):
    n = matrix.shape[-1]
    x = _ball_samples(n, count, rng)
    disp = x @ (matrix - np.eye(n)).T + shift
    vals = np.sum(disp**2, axis=1)
    volume = unit_ball_moments(n)[1]
    return volume * vals.mean(), volume * vals.std() / math.sqrt(count)


def test_unit_ball_moments():
    assert unit_ball_moments(2) == pytest.approx((math.pi / 2, math.pi))
    assert unit_ball_moments(3) == pytest.approx((4 * math.pi / 5, 4 * math.pi / 3))


@pytest.mark.parametrize("n", [2, 3])
def test_rigid_and_affine_regularisation_match_monte_carlo_integral(n):
    rng = np.random.default_rng(n)
    if n == 3:
        rots = random_rotations(3, seed=1)
    else:
        ang = rng.uniform(-np.pi, np.pi, size=3)
        rots = np.stack([[[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]] for a in ang])
    shifts = rng.uniform(-0.5, 0.5, size=(3, n))
    affines = rots * rng.uniform(0.7, 1.3, size=(3, 1, n)) + rng.normal(0, 0.2, size=(3, n, n))
    lr = rigid_regularization(torch.from_numpy(rots), torch.from_numpy(shifts)).numpy()
    la = affine_regularization(torch.from_numpy(affines), torch.from_numpy(shifts)).numpy()
    for i in range(3):
        mc, se = _mc_integral(rots[i], shifts[i], rng)
        assert abs(lr[i] - mc) < 4 * se, (lr[i], mc, se)
        mc, se = _mc_integral(affines[i], shifts[i], rng)
        assert abs(la[i] - mc) < 4 * se, (la[i], mc, se)


def test_pose_displacement_loss_matches_monte_carlo_in_voxels():
    rng = np.random.default_rng(7)
    half_box = 16.0
    pred_r, true_r = random_rotations(2, seed=2), random_rotations(2, seed=3)
    pred_t, true_t = rng.uniform(-4, 4, size=(2, 3)), rng.uniform(-4, 4, size=(2, 3))
    loss = pose_displacement_loss(*(torch.from_numpy(a) for a in (pred_r, pred_t, true_r, true_t)),
                                  half_box=half_box, reduction="none").numpy()
    volume = unit_ball_moments(3)[1]
    for i in range(2):
        x = _ball_samples(3, 200_000, rng)  # normalised units; voxel shifts divided by half_box
        disp = x @ (pred_r[i] - true_r[i]).T + (pred_t[i] - true_t[i]) / half_box
        vals = np.sum(disp**2, axis=1)
        mc, se = volume * vals.mean(), volume * vals.std() / math.sqrt(len(vals))
        assert abs(loss[i] - mc) < 4 * se, (loss[i], mc, se)
    same = pose_displacement_loss(*(torch.from_numpy(a) for a in (true_r, true_t) * 2),
                                  half_box=half_box)
    assert float(same) == pytest.approx(0.0, abs=1e-12)


def test_regularisation_closed_forms():
    rot = torch.from_numpy(random_rotations(4, seed=3))
    s = torch.randn(4, 3, dtype=torch.float64) * 0.2
    cos_w = (torch.diagonal(rot, dim1=-2, dim2=-1).sum(-1) - 1) / 2
    eq1 = 4 * math.pi / 3 * (2 / 5 * (3 - torch.diagonal(rot, dim1=-2, dim2=-1).sum(-1))
                             + (s * s).sum(-1))
    via_angle = 4 * math.pi / 3 * (4 / 5 * (1 - cos_w) + (s * s).sum(-1))
    torch.testing.assert_close(rigid_regularization(rot, s), eq1)
    torch.testing.assert_close(rigid_regularization(rot, s), via_angle)
    torch.testing.assert_close(affine_regularization(rot, s), eq1)
    eye = torch.eye(3, dtype=torch.float64).expand(4, 3, 3)
    zero = torch.zeros(4, dtype=torch.float64)
    torch.testing.assert_close(rigid_regularization(eye, 0 * s), zero)
    # METHOD.md §4.2 scale check: a 10° rotation costs ≈ 0.051.
    c, sn = math.cos(math.radians(10)), math.sin(math.radians(10))
    r10 = torch.tensor([[[c, -sn, 0], [sn, c, 0], [0, 0, 1]]], dtype=torch.float64)
    assert float(rigid_regularization(r10, torch.zeros(1, 3, dtype=torch.float64))) == \
        pytest.approx(0.051, abs=5e-4)
    assert rigid_regularization(rot, s, reduction="mean").shape == ()


def test_gradcheck_regularisations_2d_and_3d():
    for n in (2, 3):
        a = torch.randn(2, n, n, dtype=torch.float64, requires_grad=True)
        s = torch.randn(2, n, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(affine_regularization, (a, s))
        assert torch.autograd.gradcheck(rigid_regularization, (a, s))


# -------------------------------------------------------------------------------- soft inlier

def test_identity_mask_layout_follows_correlation_convention():
    m = identity_mask((3, 4))
    assert m.shape == (1, 12, 3, 4)
    assert m[0, 4 * 1 + 2, 1, 2] == 1 and m.sum() == 12
    wide = identity_mask((3, 4), threshold=1.01)
    assert wide[0, 4 * 1 + 2].sum() == 5  # itself + 4 neighbours


def test_soft_inlier_prefers_correct_transformation():
    torch.manual_seed(0)
    feats = feature_l2_norm(torch.randn(2, 16, 6, 6))
    corr = GlobalCorrelation("relu_l2")(feats, feats)  # identical images: identity is correct
    mask = identity_mask((6, 6))
    shifted = torch.roll(mask, shifts=2, dims=-1)  # a wrong (shifted) transformation
    good = soft_inlier_score(corr, mask)
    bad = soft_inlier_score(corr, shifted)
    assert good.shape == (2,) and (good > bad + 0.1).all()
    assert float(soft_inlier_loss(corr, mask)) == pytest.approx(-float(good.mean()))
    raw = soft_inlier_score(corr, mask, normalize=False)
    torch.testing.assert_close(raw / (36 + 1e-5), good)


# ------------------------------------------------------------------------- clustering / total

def test_cluster_cross_entropy_hard_and_one_hot():
    logits = torch.randn(5, 4, requires_grad=True)
    labels = torch.tensor([0, 3, 1, 1, 2])
    ce = cluster_cross_entropy(logits, labels)
    torch.testing.assert_close(ce, F.cross_entropy(logits, labels))
    torch.testing.assert_close(cluster_cross_entropy(logits, F.one_hot(labels, 4).float()), ce)
    ce.backward()
    assert logits.grad is not None


def test_jimnet_3d_loss_combines_parts():
    out = torch.randn(2, 6, 6, 6)
    tgt = torch.randn(2, 6, 6, 6)
    rot = torch.eye(3).expand(2, 3, 3)
    shift = torch.full((2, 3), 0.1)
    logits = torch.randn(2, 3)
    labels = torch.tensor([0, 2])
    total, parts = jimnet_3d_loss(out, tgt, coarse_output=tgt, fine_rotation=rot,
                                  fine_shift=shift, cluster_logits=logits,
                                  cluster_labels=labels, coarse_weight=1.0, lambda_r=0.1,
                                  alpha=0.01)
    assert set(parts) == {"align", "align_coarse", "reg", "ce"}
    expected = parts["align"] + parts["align_coarse"] + 0.1 * parts["reg"] + 0.01 * parts["ce"]
    torch.testing.assert_close(total, expected)
    assert float(parts["align_coarse"]) == pytest.approx(0.0, abs=1e-6)
    total2, parts2 = jimnet_3d_loss(out, tgt)
    assert set(parts2) == {"align"}
    torch.testing.assert_close(total2, parts2["align"])


# ---------------------------------------------------------------- the imputation reward


def _wedged_noise(n: int, shape: tuple[int, int, int], seed: int) -> torch.Tensor:
    from jimnet.fourier import wedge_mask

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *shape, generator=g, dtype=torch.float64)
    mask = wedge_mask(shape, -60.0, 60.0, layout="unshifted", dtype=torch.float64)
    return torch.fft.ifftn(torch.fft.fftn(x, dim=(-3, -2, -1)) * mask, dim=(-3, -2, -1)).real


def test_masked_alignment_loss_with_a_full_mask_is_the_plain_loss():
    x, y = torch.randn(3, 8, 8, 8), torch.randn(3, 8, 8, 8)
    y = y + 0.5 * x
    full = torch.ones(8, 8, 8)
    torch.testing.assert_close(masked_alignment_loss(x, y, full), alignment_loss(x, y))
    assert float(masked_alignment_loss(x, x, full)) == pytest.approx(0.0, abs=1e-6)


def test_imputation_rewards_moving_the_wedge_and_the_masked_loss_does_not():
    # Unrelated pure-noise pairs: no pose is better than another. Gum-Net's imputed output still
    # correlates with the target once a rotation moves the source's wedge over the target's
    # observed data (the copied coefficients); the masked loss stays at 1 − O(1/n_freq).
    from jimnet.fourier import common_wedge_mask
    from jimnet.models.imputation import wedge_imputation
    from jimnet.transform import rigid_transform

    shape = (16, 16, 16)
    src, tgt = _wedged_noise(8, shape, 0), _wedged_noise(8, shape, 1)
    tilt = (-60.0, 60.0)
    quarter = torch.tensor([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
                           dtype=torch.float64)
    losses = {}
    for name, rot in (("identity", torch.eye(3, dtype=torch.float64)), ("quarter", quarter)):
        r = rot.expand(8, 3, 3)
        warped = rigid_transform(src, r, torch.zeros(8, 3, dtype=torch.float64))
        imputed = wedge_imputation(warped, tgt, r, tilt)
        losses[name] = (float(alignment_loss(imputed, tgt)),
                        float(masked_alignment_loss(warped, tgt,
                                                    common_wedge_mask(shape, r, tilt, tilt))))
    assert losses["identity"][0] > 0.97 and losses["quarter"][0] < 0.9  # the reward
    assert losses["identity"][1] > 0.97 and losses["quarter"][1] > 0.97  # no reward
