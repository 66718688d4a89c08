"""PF-PASCAL CSV reader/writer on a small fixture in the published format."""

import numpy as np
import pytest
from PIL import Image

from jimnet.errors import JimnetInputError
from jimnet.io.pfpascal import image_set, load_image, load_images, read_pairs, write_pairs

# Two rows in the layout of WeakAlign's test_pairs_pf_pascal.csv.
FIXTURE = """source_image,target_image,class,XA,YA,XB,YB
JPEGImages/a.jpg,JPEGImages/b.jpg,1,10;20.5;30,40;50;60,11;22;33,44;55;66
JPEGImages/c.jpg,JPEGImages/a.jpg,14,5,6,7,8
"""


def _images(root):
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, (h, w) in {"a": (30, 40), "b": (20, 50), "c": (25, 25)}.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
            root / "JPEGImages" / f"{name}.jpg", quality=100)


def test_round_trip(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(FIXTURE)
    pairs = read_pairs(path, n_classes=20, require_keypoints=True)
    assert [p.cls for p in pairs] == [1, 14]
    np.testing.assert_array_equal(pairs[0].source_points, [[10, 40], [20.5, 50], [30, 60]])
    np.testing.assert_array_equal(pairs[1].target_points, [[7, 8]])
    write_pairs(tmp_path / "out.csv", pairs)
    again = read_pairs(tmp_path / "out.csv", require_keypoints=True)
    for a, b in zip(pairs, again, strict=True):
        assert (a.source, a.target, a.cls, a.flip) == (b.source, b.target, b.cls, b.flip)
        np.testing.assert_array_equal(a.source_points, b.source_points)
        np.testing.assert_array_equal(a.target_points, b.target_points)
    with pytest.raises(JimnetInputError, match="already exists"):
        write_pairs(tmp_path / "out.csv", pairs)


def test_training_pairs_with_flip(tmp_path):
    _images(tmp_path)
    path = tmp_path / "train.csv"
    path.write_text("source_image,target_image,class,flip\nJPEGImages/a.jpg,JPEGImages/b.jpg,3,0\n"
                    "JPEGImages/a.jpg,JPEGImages/c.jpg,3,1\n")
    pairs = read_pairs(path, image_dir=tmp_path)
    assert [p.flip for p in pairs] == [False, True]
    entries = image_set(pairs)
    assert entries == [("JPEGImages/a.jpg", False, 3), ("JPEGImages/b.jpg", False, 3),
                       ("JPEGImages/a.jpg", True, 3), ("JPEGImages/c.jpg", True, 3)]
    imgs = load_images(entries, tmp_path, 24)
    assert imgs.shape == (4, 3, 24, 24)
    # a flipped image is the mirror of the unflipped one (the resize keeps the corner pixels)
    np.testing.assert_array_equal(imgs[2].numpy(), imgs[0].numpy()[:, :, ::-1])
    img, size = load_image(tmp_path / "JPEGImages/b.jpg", 16)
    assert size == (20, 50) and img.shape == (3, 16, 16) and 0 <= img.min() and img.max() <= 1


@pytest.mark.parametrize(("row", "message"), [
    ("a.jpg,b.jpg,1,10;x,40,11,44", "row 2: malformed keypoint string in column XA"),
    ("a.jpg,b.jpg,1,10;20,40,11,44", "row 2: XA, YA, XB, YB have different numbers"),
    ("a.jpg,b.jpg,21,10,40,11,44", "row 2: unknown class 21"),
    ("a.jpg,b.jpg,cat,10,40,11,44", "row 2: unknown class 'cat'"),
    ("a.jpg,missing.jpg,1,10,40,11,44", "row 2: missing image"),
])
def test_bad_rows_name_the_row(tmp_path, row, message):
    _images(tmp_path)
    for name in ("a", "b"):
        (tmp_path / f"{name}.jpg").write_bytes((tmp_path / "JPEGImages" / f"{name}.jpg")
                                               .read_bytes())
    path = tmp_path / "bad.csv"
    path.write_text(f"source_image,target_image,class,XA,YA,XB,YB\n{row}\n")
    with pytest.raises(JimnetInputError, match=message):
        read_pairs(path, n_classes=20, require_keypoints=True, image_dir=tmp_path)


def test_missing_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("source_image,target_image,class\na.jpg,b.jpg,1\n")
    with pytest.raises(JimnetInputError, match="missing column"):
        read_pairs(path, require_keypoints=True)
