"""The procedural PF-PASCAL-format benchmark: keypoints follow the warps, format, determinism."""

import numpy as np
from PIL import Image

from jimnet.io.pfpascal import read_pairs
from jimnet.simulate.pairs2d import (
    Benchmark2DConfig,
    make_classes,
    render_instance,
    write_benchmark,
)

TINY = Benchmark2DConfig(n_classes=2, train_per_class=2, test_pairs_per_class=1, parts=4,
                         size_range=(60, 80), seed=3)


def test_keypoints_sit_on_their_part():
    """A keypoint is its part's centre after the image's warp: without noise, the pixel there has
    the part's colour (jittered by ≤ 0.08, times the stripe factor 0.5, 0.75 or 1), not the
    background's (a wrong inverse warp would land elsewhere)."""
    for seed in range(6):
        cfg = Benchmark2DConfig(n_classes=1, parts=1, noise=0.0, size_range=(100, 140), seed=seed)
        rng = np.random.default_rng(seed)
        obj = make_classes(cfg, rng)[0]
        image, kp = render_instance(obj, cfg, rng)
        x, y = kp[0]
        col = image[round(float(y)) - 1, round(float(x)) - 1].astype(float) / 255
        err = min(np.abs(col - f * obj.colours[0]).max() for f in (0.5, 0.75, 1.0))
        assert err < 0.08 + 0.02, (seed, col, obj.colours[0])


def test_writer_format_and_determinism(tmp_path):
    a = write_benchmark(tmp_path / "a", TINY)
    b = write_benchmark(tmp_path / "b", TINY)
    train = read_pairs(a / "train_pairs.csv", n_classes=2, image_dir=a / "images")
    test = read_pairs(a / "test_pairs.csv", n_classes=2, require_keypoints=True,
                      image_dir=a / "images")
    assert len(train) == 4 and len(test) == 2
    assert all(p.source_points.shape == p.target_points.shape for p in test)
    for p in test:
        h, w = np.asarray(Image.open(a / "images" / p.source)).shape[:2]
        assert 60 <= h <= 80 and 60 <= w <= 80
        assert np.all((p.source_points >= 1) & (p.source_points <= [w, h]))
    assert (a / "test_pairs.csv").read_text() == (b / "test_pairs.csv").read_text()
    for p in test:
        np.testing.assert_array_equal(np.asarray(Image.open(a / "images" / p.target)),
                                      np.asarray(Image.open(b / "images" / p.target)))
