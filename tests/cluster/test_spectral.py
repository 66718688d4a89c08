"""The spectral floor: invariances of the wedge-aware shell power, separation by size."""

import numpy as np
import pytest
import torch

from jimnet.cluster.spectral import embed_features, observed_shell_power
from jimnet.evaluate import clustering_accuracy
from jimnet.fourier import wedge_mask
from jimnet.transform import rigid_transform
from tests.align.helpers import make_blob, rotation_about, wedge_filter

N = 24


def test_shell_power_is_shift_invariant():
    vol = wedge_filter(make_blob(N, seed=1), (-50.0, 50.0))
    shifted = torch.roll(vol, shifts=(3, -2, 5), dims=(0, 1, 2))
    tilt = [[-50.0, 50.0]]
    a = observed_shell_power(vol[None], tilt)
    b = observed_shell_power(shifted[None], tilt)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-9)


def _ellipsoid(n: int) -> torch.Tensor:
    axes = torch.arange(n, dtype=torch.float32) - n // 2
    z, y, x = torch.meshgrid(axes, axes, axes, indexing="ij")
    return torch.exp(-0.5 * (z**2 / 1.2**2 + y**2 / 2.0**2 + x**2 / 3.5**2))


@pytest.mark.parametrize("dims", [(0, 1), (0, 2), (1, 2)])
def test_shell_power_is_exactly_invariant_to_grid_rotations_without_a_wedge(dims):
    # rot90 turns the box about (N − 1)/2: a rotation about N // 2 plus a shift, so the power
    # spectrum is permuted exactly.
    vol = make_blob(N, seed=4)
    full = [[-90.0, 90.0]]
    a = observed_shell_power(vol[None], full)
    b = observed_shell_power(torch.rot90(vol, 1, dims)[None], full)
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_shell_power_follows_a_rotation_about_the_tilt_axis():
    # Turning particle and tomogram together by α about y (the tilt axis) turns the tilt range
    # [a, b] into [a − α, b − α] (checked with the library's analytic wedge at rotated
    # frequencies). The feature must then barely change; on a discrete grid the partial shells
    # are sampled differently, so the check is approximate, against a wrong tilt range.
    n, alpha, tilt = 32, 30.0, (-60.0, 20.0)
    rot = rotation_about(1, alpha)
    moved = (tilt[0] - alpha, tilt[1] - alpha)
    wrong = (tilt[0] + alpha, tilt[1] + alpha)
    assert torch.equal(wedge_mask((n,) * 3, *tilt, rotation=rot.double(), dtype=torch.float64),
                       wedge_mask((n,) * 3, *moved, dtype=torch.float64))
    blob = _ellipsoid(n)
    turned = rigid_transform(blob, rot, torch.zeros(3))
    low = slice(0, n // 4)  # trilinear interpolation damps the highest shells
    a = observed_shell_power(wedge_filter(blob, tilt)[None], [tilt])[0, low]
    b = observed_shell_power(wedge_filter(turned, moved)[None], [moved])[0, low]
    c = observed_shell_power(wedge_filter(turned, wrong)[None], [wrong])[0, low]
    assert float((a - b).abs().max()) < 0.5
    assert float((a - b).abs().max()) < 0.25 * float((a - c).abs().max())


def test_shell_power_matches_a_direct_shell_mean():
    vol = make_blob(16, seed=3)
    power = np.abs(np.fft.fftshift(np.fft.fftn(vol.double().numpy()))) ** 2
    k = np.arange(16) - 8
    r = np.sqrt(k[:, None, None] ** 2 + k[None, :, None] ** 2 + k[None, None, :] ** 2)
    expected = [np.log(power[np.round(r) == s].mean()) for s in range(1, 8)]
    got = observed_shell_power(vol[None], [[-90.0, 90.0]])[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_embedding_separates_classes_of_different_size():
    rng = np.random.default_rng(0)
    vols, labels = [], []
    for label, sigma in enumerate((1.0, 2.5)):
        for i in range(6):
            v = make_blob(N, seed=10 * label + i, sigma=sigma)
            v = v + torch.from_numpy(rng.normal(0, 0.05 * float(v.std()), v.shape)).float()
            vols.append(wedge_filter(v, (-50.0, 50.0)))
            labels.append(label)
    feats = observed_shell_power(torch.stack(vols), [[-50.0, 50.0]] * len(vols)).numpy()
    emb = embed_features(feats, n_components=2)
    side = (emb[:, 0] > np.median(emb[:, 0])).astype(int)
    assert clustering_accuracy(labels, side).accuracy == 1.0


def test_bad_volume_shape_is_refused():
    with pytest.raises(ValueError, match="volumes must be"):
        observed_shell_power(torch.zeros(2, 8, 8, 9), [[-60, 60]] * 2)
