import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from jimnet.fourier import wedge_mask
from jimnet.geometry import aitom_euler_to_matrix, random_rotations
from jimnet.losses import alignment_loss
from jimnet.models import impute_fourier, rotated_wedge_masks, warp, wedge_imputation
from jimnet.transform import rigid_transform


def test_impute_fourier_extremes():
    a = torch.randn(2, 8, 8, 8, dtype=torch.float64)
    b = torch.randn(2, 8, 8, 8, dtype=torch.float64)
    ones = torch.ones(8, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(impute_fourier(a, b, ones), a)
    torch.testing.assert_close(impute_fourier(a, b, 0 * ones), b)
    with pytest.raises(ValueError, match="shapes"):
        impute_fourier(a, b[:, :4], ones)


def test_all_observed_masks_equal_plain_warp(smooth32):
    vol = smooth32[None].repeat(2, 1, 1, 1)
    target = torch.randn_like(vol)
    rot = torch.from_numpy(random_rotations(2, seed=3))
    shift = torch.tensor([[1.0, 2.0, -3.0], [0.5, 0.0, 0.0]], dtype=torch.float64)
    warped = warp(vol, rot, shift)
    for mode in ("gumnet", "constrained"):
        out = wedge_imputation(warped, target, rot, (-90.0, 90.0), target_tilt=(-90.0, 90.0),
                               mode=mode, sphere=False)
        torch.testing.assert_close(out, warped, atol=1e-12, rtol=0)
    assert wedge_imputation(warped, target, rot, (-60.0, 60.0), mode="none") is warped


def test_masks_are_analytic_at_rotated_frequencies():
    rot = torch.from_numpy(random_rotations(3, seed=5))
    obs, miss = rotated_wedge_masks((16, 16, 16), (-60.0, 50.0), rot)
    assert obs.shape == (3, 16, 16, 16)
    torch.testing.assert_close(obs + miss, torch.ones_like(obs))
    expected = torch.fft.ifftshift(
        wedge_mask((16, 16, 16), -60.0, 50.0, rot, layout="shifted"), dim=(-3, -2, -1))
    torch.testing.assert_close(obs, expected)


def test_per_sample_tilt_ranges():
    rot = torch.eye(3, dtype=torch.float64).expand(2, 3, 3)
    obs, _ = rotated_wedge_masks((8, 8, 8), (torch.tensor([-60.0, -90.0]),
                                             torch.tensor([60.0, 90.0])), rot, sphere=False)
    assert obs[1].min() == 1 and obs[0].min() == 0


def test_imputation_restores_target_where_source_wedge_is_missing(smooth32):
    # Source = wedge-filtered volume; target = the full volume rotated. At the true pose the
    # imputed output is close to the target (only interpolation error remains).
    v = smooth32[None]
    mask = wedge_mask((32, 32, 32), -60.0, 60.0, layout="unshifted", dtype=torch.float64)
    source = torch.fft.ifftn(torch.fft.fftn(v, dim=(-3, -2, -1)) * mask, dim=(-3, -2, -1)).real
    rot = aitom_euler_to_matrix(torch.tensor([[0.3, 0.5, -0.2]], dtype=torch.float64))
    target = rigid_transform(v, rot)
    warped = warp(source, rot, torch.zeros(1, 3, dtype=torch.float64))
    imputed = wedge_imputation(warped, target, rot, (-60.0, 60.0))
    loss = alignment_loss(imputed, target)
    assert loss < 0.25 * alignment_loss(warped, target)
    assert loss < 0.1  # residual: wedge streaks cut off by the box, interpolation
    # The masks must be rotated with R (not Rᵀ, not left unrotated).
    for wrong in (rot.transpose(1, 2), torch.eye(3, dtype=torch.float64)[None]):
        obs, miss = rotated_wedge_masks((32, 32, 32), (-60.0, 60.0), wrong)
        assert alignment_loss(impute_fourier(warped, target, obs, miss), target) > 2 * loss


def test_constrained_mode_needs_target_tilt_and_differs_from_gumnet():
    a = torch.randn(1, 8, 8, 8, dtype=torch.float64)
    b = torch.randn(1, 8, 8, 8, dtype=torch.float64)
    rot = torch.eye(3, dtype=torch.float64)[None]
    with pytest.raises(ValueError, match="target_tilt"):
        wedge_imputation(a, b, rot, (-60.0, 60.0), mode="constrained")
    with pytest.raises(ValueError, match="mode"):
        wedge_imputation(a, b, rot, (-60.0, 60.0), mode="other")
    g = wedge_imputation(a, b, rot, (-60.0, 60.0))
    c = wedge_imputation(a, b, rot, (-60.0, 60.0), target_tilt=(-30.0, 30.0), mode="constrained")
    assert not torch.allclose(g, c)


@pytest.mark.parametrize("tilt", [None, (-60.0, 60.0)])
def test_true_pose_gives_lowest_alignment_loss(smooth32, tilt):
    """A source that is an exact rotated copy of the target scores best at the true pose."""
    source = smooth32[None]
    rot_true = aitom_euler_to_matrix(torch.tensor([[0.8, -0.6, 1.1]], dtype=torch.float64))
    shift_true = torch.tensor([[2.0, -1.0, 3.0]], dtype=torch.float64)
    target = warp(source, rot_true, shift_true)

    def loss_at(rot, shift):
        warped = warp(source, rot, shift)
        out = warped if tilt is None else wedge_imputation(warped, target, rot, tilt)
        return float(alignment_loss(out, target))

    best = loss_at(rot_true, shift_true)
    assert best < 1e-6
    rng = np.random.default_rng(0)
    for deg in (5.0, 15.0, 45.0):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        delta = torch.from_numpy(Rotation.from_rotvec(np.radians(deg) * axis).as_matrix())
        assert loss_at(delta @ rot_true, shift_true) > best + 1e-3
    for dv in ([1.0, 0, 0], [0, -2.0, 1.0]):
        assert loss_at(rot_true, shift_true + torch.tensor([dv], dtype=torch.float64)) > best + 1e-3
