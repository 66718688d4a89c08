import numpy as np
import pytest
import torch

from jimnet.fourier import frequency_magnitude, tilt_rotation
from jimnet.simulate import TiltProjector, load_structure, structure_density, tilt_angles
from jimnet.transform import rigid_transform


@pytest.fixture(scope="module")
def volume():
    dens, _ = structure_density(load_structure("1qvr"), box=24, voxel_size=12.0, resolution=24.0)
    return torch.as_tensor(dens, dtype=torch.float64)


def test_tilt_angles():
    assert len(tilt_angles(-60, 60, 1)) == 121
    assert tilt_angles(-40, 60, 20) == (-40.0, -20.0, 0.0, 20.0, 40.0, 60.0)


@pytest.mark.parametrize("angle", [-60.0, -23.0, 35.0, 60.0])
def test_projection_matches_rotating_then_summing_along_the_beam(volume, angle):
    tp = TiltProjector(volume.shape, [angle], dtype=torch.float64)
    proj = tp.project(volume[None])[0, 0]  # (H, W_det)
    c, n = tp.detector_width // 2, volume.shape[-1]
    rotated = rigid_transform(volume, tilt_rotation(angle, dtype=torch.float64))
    expected = rotated.sum(0)  # beam = array axis 0
    got = proj[:, c - n // 2: c - n // 2 + n]
    assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.995
    assert float(proj.sum()) == pytest.approx(float(volume.sum()), rel=1e-9)  # mass conserved


def test_backprojection_is_the_adjoint_and_wbp_folds_the_ramp():
    tp = TiltProjector((10, 6, 12), tilt_angles(-50, 70, 10), dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((2, 10, 6, 12), generator=gen, dtype=torch.float64)
    y = torch.randn((2, *tp.detector_shape), generator=gen, dtype=torch.float64)
    assert float((tp.project(x) * y).sum()) == pytest.approx(float((x * tp.backproject(y)).sum()))
    torch.testing.assert_close(tp.wbp(y), tp.backproject(tp.ramp(y)))


def test_full_range_wbp_reconstructs_a_band_limited_volume(volume):
    shape = tuple(volume.shape)
    lowpass = (frequency_magnitude(shape, "rfft", dtype=torch.float64) < 0.3).double()
    vol = torch.fft.irfftn(torch.fft.rfftn(volume) * lowpass, s=shape)
    tp = TiltProjector(shape, tilt_angles(-90, 89, 1), dtype=torch.float64)
    rec = tp.wbp(tp.project(vol[None]))[0]
    assert np.corrcoef(rec.ravel(), vol.ravel())[0, 1] > 0.99
    assert float((rec * vol).sum() / (vol * vol).sum()) == pytest.approx(1.0, abs=0.15)
