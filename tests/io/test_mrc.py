import mrcfile
import numpy as np
import pytest
import torch

from jimnet.errors import JimnetInputError
from jimnet.io import (
    read_mrc_header,
    read_stack_item,
    read_volume,
    read_volume_stack,
    write_volume,
    write_volume_stack,
)
from tests.io.helpers import random_volume, write_mrc


def test_volume_round_trip_read_by_plain_mrcfile(tmp_path):
    vol = random_volume(8, seed=1)
    path = write_volume(tmp_path / "v.mrc", vol, 4.25)
    with mrcfile.open(path) as mrc:
        np.testing.assert_array_equal(mrc.data, vol)
        assert mrc.voxel_size.x == pytest.approx(4.25)
        assert mrc.voxel_size.z == pytest.approx(4.25)
        assert int(mrc.header.mode) == 2
        assert int(mrc.header.ispg) == 1
        assert tuple(mrc.header.origin.item()) == (0.0, 0.0, 0.0)
        assert mrc.is_volume()
    data, voxel = read_volume(path)
    assert data.dtype == np.float32 and voxel == pytest.approx(4.25)
    np.testing.assert_array_equal(data, vol)


def test_write_accepts_torch_and_gzip(tmp_path):
    vol = torch.from_numpy(random_volume(6, seed=2))
    path = write_volume(tmp_path / "v.mrc.gz", vol, 2.0)
    with open(path, "rb") as fh:
        assert fh.read(2) == b"\x1f\x8b"
    data, voxel = read_volume(path)
    np.testing.assert_array_equal(data, vol.numpy())
    assert voxel == 2.0


def test_zyx_axis_order(tmp_path):
    vol = np.zeros((4, 6, 8), dtype=np.float32)  # z, y, x
    path = write_volume(tmp_path / "v.mrc", vol, 1.0)
    with mrcfile.open(path) as mrc:
        assert (int(mrc.header.nx), int(mrc.header.ny), int(mrc.header.nz)) == (8, 6, 4)
    assert read_mrc_header(path).shape == (4, 6, 8)


def test_mmap_read_is_lazy_memmap(tmp_path):
    vol = random_volume(8, seed=3)
    path = write_volume(tmp_path / "v.mrc", vol, 3.0)
    data, voxel = read_volume(path, mmap=True)
    assert isinstance(data, np.memmap)
    np.testing.assert_array_equal(np.asarray(data), vol)
    assert voxel == 3.0
    del data


def test_stack_round_trip(tmp_path):
    vols = np.stack([random_volume(8, seed=s) for s in range(3)])
    path = write_volume_stack(tmp_path / "s.mrcs", vols, 5.0)
    with mrcfile.open(path) as mrc:
        assert int(mrc.header.ispg) == 401
        assert mrc.is_volume_stack()
        assert mrc.data.shape == (3, 8, 8, 8)
        assert mrc.voxel_size.x == pytest.approx(5.0)
    data, _ = read_volume_stack(path)
    np.testing.assert_array_equal(data, vols)
    item, _ = read_stack_item(path, 2)
    np.testing.assert_array_equal(item, vols[2])
    with pytest.raises(JimnetInputError, match="out of range"):
        read_stack_item(path, 3)
    with pytest.raises(JimnetInputError, match="volume stack"):
        read_volume(path)


def test_integer_mode_is_converted(tmp_path):
    data = np.arange(512, dtype=np.int16).reshape(8, 8, 8)
    path = write_mrc(tmp_path / "i.mrc", data, 1.5)
    vol, _ = read_volume(path)
    assert vol.dtype == np.float32
    np.testing.assert_array_equal(vol, data.astype(np.float32))


def test_refuses_overwrite(tmp_path):
    path = write_volume(tmp_path / "v.mrc", random_volume(4), 1.0)
    with pytest.raises(JimnetInputError, match=r"v\.mrc"):
        write_volume(path, random_volume(4, seed=9), 1.0)
    write_volume(path, random_volume(4, seed=9), 1.0, force=True)
    np.testing.assert_array_equal(read_volume(path)[0], random_volume(4, seed=9))


def _bad_files(tmp_path):
    good = write_mrc(tmp_path / "good.mrc", random_volume(8), 5.0).read_bytes()
    (tmp_path / "truncated.mrc").write_bytes(good[:-100])
    (tmp_path / "short.mrc").write_bytes(good[:300])
    (tmp_path / "empty.mrc").write_bytes(b"")
    (tmp_path / "junk.mrc").write_bytes(np.random.default_rng(0).bytes(3000))
    nan = random_volume(8)
    nan[1, 2, 3] = np.nan
    write_mrc(tmp_path / "nan.mrc", nan, 5.0)
    write_mrc(tmp_path / "novoxel.mrc", random_volume(8), 0.0)
    write_mrc(tmp_path / "noncubic.mrc", random_volume(8), (5.0, 5.0, 6.0))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.mrc", "file not found"),
        ("truncated.mrc", "not a readable MRC"),
        ("short.mrc", "not a readable MRC"),
        ("empty.mrc", "not a readable MRC"),
        ("junk.mrc", "not a readable MRC"),
        ("nan.mrc", "NaN/Inf"),
        ("novoxel.mrc", "voxel size"),
        ("noncubic.mrc", "non-cubic"),
    ],
)
def test_bad_volume_raises_one_line_naming_file(tmp_path, name, message):
    _bad_files(tmp_path)
    with pytest.raises(JimnetInputError, match=message) as info:
        read_volume(tmp_path / name)
    text = str(info.value)
    assert name in text and "\n" not in text


def test_zero_voxel_size_can_be_allowed(tmp_path):
    path = write_mrc(tmp_path / "v.mrc", random_volume(4), 0.0)
    assert read_volume(path, allow_zero_voxel_size=True)[1] == 0.0


def test_writer_rejects_nan_and_bad_voxel_size(tmp_path):
    vol = random_volume(4)
    with pytest.raises(ValueError, match="voxel_size"):
        write_volume(tmp_path / "a.mrc", vol, 0.0)
    vol[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN"):
        write_volume(tmp_path / "a.mrc", vol, 1.0)
    assert list(tmp_path.iterdir()) == []
