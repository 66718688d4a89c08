import numpy as np
import pytest
import torch
from scipy.fft import dctn, idctn

from jimnet.models.layers import (
    FeatureL2Norm,
    GlobalCorrelation,
    LocalCorrelation,
    SDCBlock,
    SpectralPool,
    crop3d,
    dct_matrix,
    feature_l2_norm,
    global_correlation,
    local_correlation,
    local_displacements,
    spectral_pool,
    spectral_pool_matrix,
)


def _scipy_spectral_pool(x, out, trunc):
    axes = tuple(range(x.ndim - len(out), x.ndim))
    coef = dctn(x, type=2, norm="ortho", axes=axes)
    sl = (Ellipsis, *[slice(0, t) for t in trunc])
    padded = np.zeros(x.shape[: x.ndim - len(out)] + tuple(out))
    padded[sl] = coef[sl]
    return idctn(padded, type=2, norm="ortho", axes=axes)


def test_dct_matrix_is_orthonormal_dct_ii():
    c = dct_matrix(7)
    np.testing.assert_allclose((c @ c.T).numpy(), np.eye(7), atol=1e-12)
    x = np.random.default_rng(0).normal(size=7)
    np.testing.assert_allclose((c @ torch.from_numpy(x)).numpy(), dctn(x, norm="ortho"),
                               atol=1e-12)


@pytest.mark.parametrize(("shape", "out", "trunc"), [
    ((2, 3, 30, 30, 30), (26, 26, 26), (22, 22, 22)),
    ((1, 2, 28, 17, 9), (21, 13, 7), (18, 11, 6)),
    ((2, 8, 9, 9, 9), (12, 12, 12), (9, 8, 4)),  # up-sampling
])
def test_spectral_pool_matches_scipy_dctn_truncate_pad(shape, out, trunc):
    x = np.random.default_rng(1).normal(size=shape)
    got = spectral_pool(torch.from_numpy(x), out, trunc)
    np.testing.assert_allclose(got.numpy(), _scipy_spectral_pool(x, out, trunc), atol=1e-10)


def test_spectral_pool_2d_and_module():
    x = np.random.default_rng(2).normal(size=(2, 3, 15, 12))
    got = spectral_pool(torch.from_numpy(x), (10, 9), (8, 7), ndim=2)
    np.testing.assert_allclose(got.numpy(), _scipy_spectral_pool(x, (10, 9), (8, 7)), atol=1e-10)
    layer = SpectralPool(8, 7)
    y = layer(torch.randn(2, 4, 10, 10, 10))
    assert y.shape == (2, 4, 8, 8, 8) and y.dtype == torch.float32


def test_spectral_pool_same_size_full_band_is_identity():
    x = torch.randn(1, 2, 6, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(spectral_pool(x, 6, 6), x)
    mat = spectral_pool_matrix(6, 6, 6)
    torch.testing.assert_close(mat, torch.eye(6, dtype=torch.float64))


def test_spectral_pool_rejects_bad_sizes():
    with pytest.raises(ValueError, match="truncation"):
        spectral_pool_matrix(10, 8, 9)
    with pytest.raises(ValueError, match="truncation"):
        SpectralPool(8, 9)


def test_spectral_pool_homomorphic_positive_input():
    x = torch.rand(1, 1, 8, 8, 8, dtype=torch.float64) + 0.5
    y = SpectralPool(8, 8, homomorphic=True)(x)
    torch.testing.assert_close(y, x)


@pytest.mark.parametrize("dilations", [(1, 2), (1, 2, 3, 4)])
def test_sdc_same_keeps_size_and_concatenates(dilations):
    block = SDCBlock(3, 5, dilations, "same")
    y = block(torch.randn(2, 3, 12, 12, 12))
    assert y.shape == (2, 5 * len(dilations), 12, 12, 12)


def test_sdc_valid_equals_same_cropped_with_shared_weights():
    torch.manual_seed(3)
    same = SDCBlock(2, 4, (1, 2), "same").eval()
    valid = SDCBlock(2, 4, (1, 2), "valid").eval()
    valid.load_state_dict(same.state_dict())
    x = torch.randn(2, 2, 13, 13, 13)
    y = valid(x)
    assert y.shape == (2, 8, 9, 9, 9) and valid.output_size(13) == 9
    torch.testing.assert_close(y, crop3d(same(x), 2))


def test_sdc_rejects_bad_padding():
    with pytest.raises(ValueError, match="padding"):
        SDCBlock(1, 2, (1, 2), "full")


def test_feature_l2_norm_unit_norm():
    x = torch.randn(2, 7, 3, 4, 5, dtype=torch.float64)
    y = FeatureL2Norm()(x)
    torch.testing.assert_close(y.norm(dim=1), torch.ones(2, 3, 4, 5, dtype=torch.float64),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(feature_l2_norm(x), y)


def test_global_correlation_definition_and_bidirectional_transpose():
    fa = torch.randn(2, 5, 3, 4, 2, dtype=torch.float64)
    fb = torch.randn(2, 5, 3, 4, 2, dtype=torch.float64)
    c = global_correlation(fa, fb)
    assert c.shape == (2, 24, 3, 4, 2)
    p, q = (1, 2, 1), (2, 3, 0)
    p_flat = np.ravel_multi_index(p, (3, 4, 2))
    expected = (fa[1, :, p[0], p[1], p[2]] * fb[1, :, q[0], q[1], q[2]]).sum()
    torch.testing.assert_close(c[1, p_flat, q[0], q[1], q[2]], expected)
    c_ba = global_correlation(fb, fa)
    torch.testing.assert_close(c.flatten(2), c_ba.flatten(2).transpose(1, 2))


def test_global_correlation_2d_and_normalisations():
    fa = torch.randn(1, 4, 5, 5)
    fb = torch.randn(1, 4, 5, 5)
    assert GlobalCorrelation("relu_l2")(fa, fb).shape == (1, 25, 5, 5)
    c = GlobalCorrelation("relu_l2")(fa, fb)
    assert (c >= 0).all()
    torch.testing.assert_close(GlobalCorrelation("none")(fa, fb), global_correlation(fa, fb))
    with pytest.raises(ValueError, match="normalization"):
        GlobalCorrelation("softmax")


def test_local_correlation_definition_and_zero_padding():
    fa = torch.randn(2, 3, 5, 6, 4, dtype=torch.float64)
    fb = torch.randn(2, 3, 5, 6, 4, dtype=torch.float64)
    c = local_correlation(fa, fb, radius=1)
    assert c.shape == (2, 27, 5, 6, 4)
    disps = local_displacements(1, 3)
    assert disps[13] == (0, 0, 0) and disps[0] == (-1, -1, -1)
    torch.testing.assert_close(c[:, 13], (fa * fb).sum(1))
    j = disps.index((1, -1, 0))
    p = (2, 3, 1)
    expected = (fa[0, :, 2, 3, 1] * fb[0, :, 3, 2, 1]).sum()
    torch.testing.assert_close(c[0, j, p[0], p[1], p[2]], expected)
    # Outside the grid counts as zero.
    assert c[0, disps.index((-1, 0, 0)), 0].abs().max() == 0
    assert LocalCorrelation()(fa, fb).shape == (2, 27, 5, 6, 4)


def test_local_correlation_2d_has_9_channels():
    fa = torch.randn(1, 3, 6, 6)
    assert local_correlation(fa, fa).shape == (1, 9, 6, 6)
