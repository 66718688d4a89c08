import numpy as np
import pandas as pd
import pytest
import starfile
import torch

import jimnet.io.particles as particles_module
from jimnet.errors import JimnetInputError
from jimnet.geometry import random_rotations
from jimnet.io import ParticleSet, pose_from_relion, read_volume, write_volume_stack
from tests.io.helpers import (
    STRING_COLUMNS,
    random_volume,
    write_mrc,
    write_plain_dataset,
    write_relion5_dataset,
)


def test_plain_star_lazy_access(tmp_path):
    path = write_plain_dataset(tmp_path, n=4, box=8, voxel_size=5.0)
    ps = ParticleSet.from_star(path)
    assert len(ps) == 4 and ps.box_size == 8 and ps.pixel_size == pytest.approx(5.0)
    assert ps.optics is None and ps.star_path == path.absolute()
    vol = ps[1]
    assert isinstance(vol, torch.Tensor) and vol.dtype == torch.float32 and vol.shape == (8, 8, 8)
    np.testing.assert_array_equal(vol.numpy(), random_volume(8, seed=1))
    np.testing.assert_array_equal(ps[-1].numpy(), random_volume(8, seed=3))
    batch = ps.get_batch([3, 0])
    assert batch.shape == (2, 8, 8, 8)
    np.testing.assert_array_equal(batch[0].numpy(), random_volume(8, seed=3))
    assert ps.get_batch(torch.tensor([2])).shape == (1, 8, 8, 8)
    assert ps.load_all().shape == (4, 8, 8, 8)
    with pytest.raises(IndexError):
        ps[4]
    np.testing.assert_array_equal(ps.class_numbers(), [1, 2, 1, 2])
    np.testing.assert_allclose(ps.tilt_ranges(), [(-60.0, 60.0)] * 4)
    rot, shift = ps.poses()
    table = ps.table
    exp_rot, exp_shift = pose_from_relion(
        table[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]].to_numpy(),
        table[["rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst"]].to_numpy(),
        5.0,
    )
    np.testing.assert_allclose(rot, exp_rot)
    np.testing.assert_allclose(shift, exp_shift)


def test_no_volume_read_when_values_not_validated(tmp_path, monkeypatch):
    path = write_plain_dataset(tmp_path, n=3)
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return read_volume(*args, **kwargs)

    monkeypatch.setattr(particles_module, "read_volume", counting)
    ps = ParticleSet.from_star(path, validate_values=False)
    assert calls == []
    ps[0]
    assert len(calls) == 1
    ParticleSet.from_star(path)  # streaming value check: one read per particle
    assert len(calls) == 4


def test_relion5_star_with_optics(tmp_path):
    path = write_relion5_dataset(tmp_path)
    ps = ParticleSet.from_star(path, tilt_range=(-45.0, 50.0))
    assert ps.pixel_size == pytest.approx(5.0) and ps.box_size == 8
    np.testing.assert_allclose(ps.tilt_ranges(), [(-45.0, 50.0)] * 3)
    _, shift = ps.poses()
    np.testing.assert_allclose(shift[0], [3.0 / 5.0, -2.0 / 5.0, -1.0 / 5.0])


def test_explicit_pixel_size_allows_unset_headers(tmp_path):
    path = write_plain_dataset(tmp_path, n=2, voxel_size=0.0)
    with pytest.raises(JimnetInputError, match="pixel-size"):
        ParticleSet.from_star(path)
    ps = ParticleSet.from_star(path, pixel_size=3.5)
    assert ps.pixel_size == 3.5


def test_volume_stack_names(tmp_path):
    vols = np.stack([random_volume(8, seed=s) for s in range(3)])
    write_volume_stack(tmp_path / "stack.mrcs", vols, 4.0)
    starfile.write(pd.DataFrame({"rlnImageName": ["3@stack.mrcs", "1@stack.mrcs"]}),
                   tmp_path / "p.star")
    ps = ParticleSet.from_star(tmp_path / "p.star")
    np.testing.assert_array_equal(ps[0].numpy(), vols[2])
    np.testing.assert_array_equal(ps[1].numpy(), vols[0])
    starfile.write(pd.DataFrame({"rlnImageName": ["4@stack.mrcs"]}), tmp_path / "q.star")
    with pytest.raises(JimnetInputError, match="row 1"):
        ParticleSet.from_star(tmp_path / "q.star")


def test_write_star_updates_poses_keeps_columns(tmp_path):
    path = write_plain_dataset(tmp_path / "in", n=4)
    ps = ParticleSet.from_star(path)
    rot = random_rotations(4, seed=7)
    shift = np.random.default_rng(7).normal(size=(4, 3))
    out = ps.write_star(tmp_path / "out" / "result.star", rotations=rot, shifts=shift,
                        class_numbers=[2, 2, 1, 3], tilt_ranges=(-50.0, 40.0))
    assert out.read_text().startswith("# version 50001")
    blocks = starfile.read(out, always_dict=True, parse_as_string=STRING_COLUMNS)
    assert blocks["optics"]["rlnImagePixelSize"].iloc[0] == pytest.approx(5.0)
    assert blocks["optics"]["rlnImageSize"].iloc[0] == 8
    np.testing.assert_allclose(blocks["particles"]["rlnMyExtraColumn"], [0.0, 1.5, 3.0, 4.5])
    assert list(blocks["particles"]["rlnTomoName"]) == ["01"] * 4
    back = ParticleSet.from_star(out)  # image names were rebased to the new location
    r2, t2 = back.poses()
    np.testing.assert_allclose(r2, rot, atol=1e-6)
    np.testing.assert_allclose(t2, shift, atol=1e-6)
    np.testing.assert_array_equal(back.class_numbers(), [2, 2, 1, 3])
    np.testing.assert_allclose(back.tilt_ranges(), [(-50.0, 40.0)] * 4)
    np.testing.assert_array_equal(back[2].numpy(), ps[2].numpy())
    with pytest.raises(JimnetInputError, match="already exists"):
        ps.write_star(out)
    ps = ParticleSet.from_star(path, tilt_range=(-30.0, 45.0))
    ps.write_star(out, force=True)  # unchanged poses and classes; default tilt range written
    again = ParticleSet.from_star(out)
    np.testing.assert_array_equal(again.class_numbers(), [1, 2, 1, 2])
    np.testing.assert_allclose(again.tilt_ranges(), [(-30.0, 45.0)] * 4)
    np.testing.assert_allclose(again.poses()[0], ps.poses()[0], atol=1e-6)


def _corrupt(directory, case):
    """Make one bad-input case in a dataset at ``directory``; return text expected in the error."""
    vols = directory / "vols"
    if case == "missing":
        (vols / "p02.mrc").unlink()
        return "file not found"
    if case == "truncated":
        data = (vols / "p02.mrc").read_bytes()
        (vols / "p02.mrc").write_bytes(data[:-64])
        return "not a readable MRC"
    if case == "corrupt":
        (vols / "p02.mrc").write_bytes(np.random.default_rng(0).bytes(2048))
        return "not a readable MRC"
    if case == "nan":
        vol = random_volume(8, seed=2)
        vol[0, 1, 2] = np.nan
        write_mrc(vols / "p02.mrc", vol, 5.0)
        return "NaN"
    if case == "mixed_box":
        write_mrc(vols / "p02.mrc", random_volume(10, seed=2), 5.0)
        return "box size 10"
    if case == "voxel_mismatch":
        write_mrc(vols / "p02.mrc", random_volume(8, seed=2), 6.0)
        return "voxel size 6"
    if case == "noncubic_box":
        write_mrc(vols / "p02.mrc", np.zeros((8, 8, 6), np.float32), 5.0)
        return "not cubic"
    raise AssertionError(case)


CASES = ["missing", "truncated", "corrupt", "nan", "mixed_box", "voxel_mismatch", "noncubic_box"]


@pytest.mark.parametrize("case", CASES)
def test_bad_inputs_name_file_and_row(tmp_path, case):
    path = write_plain_dataset(tmp_path, n=4)
    expected = _corrupt(tmp_path, case)
    with pytest.raises(JimnetInputError, match=expected) as info:
        ParticleSet.from_star(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert "particles.star row 3" in msg and "p02.mrc" in msg


def test_header_voxel_size_must_match_optics(tmp_path):
    path = write_relion5_dataset(tmp_path, voxel_size=6.0)
    with pytest.raises(JimnetInputError, match="rlnImagePixelSize 5") as info:
        ParticleSet.from_star(path)
    assert "row 1" in str(info.value)
    assert ParticleSet.from_star(path, pixel_size=6.0).pixel_size == 6.0


def test_optics_box_size_must_match(tmp_path):
    path = write_relion5_dataset(tmp_path, box=10)
    with pytest.raises(JimnetInputError, match="rlnImageSize 8"):
        ParticleSet.from_star(path)


def test_gzipped_volumes_and_pickling(tmp_path):
    import pickle

    from jimnet.io import write_volume

    names = []
    for i in range(2):
        write_volume(tmp_path / f"v{i}.mrc.gz", random_volume(6, seed=i), 2.0)
        names.append(f"v{i}.mrc.gz")
    starfile.write(pd.DataFrame({"rlnImageName": names}), tmp_path / "p.star")
    ps = pickle.loads(pickle.dumps(ParticleSet.from_star(tmp_path / "p.star")))
    assert ps.box_size == 6 and ps.pixel_size == 2.0
    np.testing.assert_array_equal(ps[1].numpy(), random_volume(6, seed=1))
