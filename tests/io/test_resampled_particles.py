"""A resampled view of a ParticleSet: volumes, voxel size, poses and the written STAR."""

import numpy as np
import pytest
import starfile
import torch
from scipy import signal

from jimnet.io import ParticleSet, read_particle_star
from tests.io.helpers import write_plain_dataset


def test_view_reads_resampled_volumes(tmp_path):
    star = write_plain_dataset(tmp_path, n=3, box=12, voxel_size=5.0)
    ps = ParticleSet.from_star(star)
    view = ps.resampled(8)
    assert (view.box_size, view.pixel_size) == (8, pytest.approx(7.5))
    assert (view.source_box_size, view.source_pixel_size) == (12, 5.0)
    assert view.is_resampled and not ps.is_resampled and ps.box_size == 12
    # Reference: scipy's 1-D Fourier resampling along each axis of the stored volume.
    raw = ps[1].numpy().astype(np.float64)
    for axis in range(3):
        raw = signal.resample(raw, 8, axis=axis)
    np.testing.assert_allclose(view[1].numpy(), raw, atol=1e-5)
    batch = view.get_batch([2, 1])
    assert batch.shape == (2, 8, 8, 8)
    torch.testing.assert_close(batch[1], view[1])
    same = ps.resampled(12)
    assert not same.is_resampled and torch.equal(same[0], ps[0])
    assert "resampled from 12³" in repr(view)


def test_poses_scale_and_star_keeps_angstrom_and_optics(tmp_path):
    star = write_plain_dataset(tmp_path, n=4, box=12, voxel_size=5.0)
    ps = ParticleSet.from_star(star)
    view = ps.resampled(8)
    rot, shift = ps.poses()
    vrot, vshift = view.poses()
    np.testing.assert_allclose(vrot, rot)
    np.testing.assert_allclose(vshift, shift * 8 / 12)  # same Å, larger voxels
    out = view.write_star(tmp_path / "out.star", rotations=vrot, shifts=vshift)
    written = read_particle_star(out)
    source = starfile.read(star)
    for axis in "XYZ":
        np.testing.assert_allclose(written.particles[f"rlnOrigin{axis}Angst"],
                                   source[f"rlnOrigin{axis}Angst"], atol=1e-9)
    # The STAR still describes the 12³ files at 5 Å.
    assert float(written.optics["rlnImagePixelSize"].iloc[0]) == 5.0
    assert int(written.optics["rlnImageSize"].iloc[0]) == 12
    again = ParticleSet.from_star(out)
    assert (again.box_size, again.pixel_size) == (12, 5.0)
