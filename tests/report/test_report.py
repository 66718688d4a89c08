import base64
import io
import json
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from jimnet.average import crossing_frequency, fsc_curve
from jimnet.errors import JimnetInputError
from jimnet.evaluate.figures import training_figure
from jimnet.io import ParticleSet, read_volume, write_volume
from jimnet.io.embedding import read_embedding, write_embedding
from jimnet.report import read_report_content, run_info, write_report
from jimnet.report.sections import _markdown_tables, aligned_members
from tests.conftest import _blob_reference


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.attrs.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.attrs


def test_a_prediction_folder_gets_a_self_contained_report(prediction_dir):
    html = (prediction_dir / "report.html").read_text(encoding="utf-8")
    tags = _tags(html)
    images = [a["src"] for t, a in tags if t == "img"]
    # 2 classes × (views, FSC, gallery) + embedding + training curves
    assert len(images) == 2 * 3 + 2
    for src in images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        pixels = imread(io.BytesIO(base64.b64decode(src[len(prefix):])), format="png")
        assert pixels.shape[0] > 50 and pixels.shape[1] > 50 and pixels.std() > 0.01
    links = [v for _, a in tags for k, v in a.items() if k in ("src", "href")]
    assert not [v for v in links if v.startswith(("http:", "https:", "//", "file:"))]
    assert "class 1: 4 members" in html and "class 2: 4 members" in html  # tiny set: 4 + 4


def test_the_report_states_the_half_map_resolutions(prediction_dir):
    html = (prediction_dir / "report.html").read_text(encoding="utf-8")
    for k in (1, 2):
        h1, h2 = (torch.from_numpy(read_volume(prediction_dir / f"class_{k:03d}_half{h}.mrc")[0])
                  for h in (1, 2))
        freq, curve = fsc_curve(h1, h2)
        for threshold in (0.143, 0.5):
            cross = crossing_frequency(freq, curve, threshold)
            expected = "not crossed" if cross is None else f"{10.0 / cross:.1f} Å"
            assert f"FSC {threshold:g} {expected}" in html


def test_identical_half_maps_never_cross_and_a_bare_folder_still_reports(tmp_path):
    vol = _blob_reference(1).astype(np.float32)
    for name in ("class_001.mrc", "class_001_half1.mrc", "class_001_half2.mrc"):
        write_volume(tmp_path / name, vol, 8.0)
    content = read_report_content(tmp_path)
    (card,) = content.classes
    assert card.members is None and card.gallery is None  # no STAR: no counts, no gallery
    assert card.resolution == {"FSC 0.143": "16.0 Å (Nyquist: not crossed)",
                               "FSC 0.5": "16.0 Å (Nyquist: not crossed)"}
    assert write_report(tmp_path).is_file()


def test_aligned_members_land_on_their_reference(tiny_star):
    particles = ParticleSet.from_star(tiny_star)
    rotations, shifts = particles.poses()
    idx = np.arange(4)  # class 1
    aligned = aligned_members(particles, idx, rotations, shifts).numpy()
    raw = particles.get_batch(idx.tolist()).numpy()
    ref = _blob_reference(1)

    def corr(a, b):
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    for a, r in zip(aligned, raw, strict=True):
        assert corr(a, ref) > 0.9
        assert corr(a, ref) > corr(r, ref) + 0.2


def test_the_embedding_is_coloured_by_truth_only_when_the_input_had_classes(prediction_dir,
                                                                           tmp_path):
    content = read_report_content(prediction_dir)
    assert "rlnClassNumber" in content.embedding.caption
    table = read_embedding(prediction_dir / "embedding.csv")
    np.testing.assert_array_equal(table.input_class, np.repeat([1, 2], 4))
    assert table.kind == "tsne" and table.coordinates.shape == (8, 3)
    write_embedding(tmp_path / "embedding.csv", table.__class__(
        "pca", table.coordinates, table.cluster, table.cluster_mcp, None))
    bare = read_report_content(tmp_path)
    assert "no classes" in bare.embedding.caption and "PCA" in bare.embedding.title


def test_training_curves_get_one_panel_per_kind_of_number():
    row = {"epoch": 1, "losses": {"total": 1.0}, "seconds": 2.0, "cluster_sizes": [1]}
    assert len(training_figure([row]).axes) == 1
    full = {**row, "accuracy_gmm": 0.5, "rotation_error": 2.0, "saturation_fraction": 0.2,
            "label_change": None}
    fig = training_figure([full, {**full, "epoch": 2}])
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "clustering accuracy",
                                                    "pair pose error", "other"]
    assert [t.get_text() for t in fig.axes[3].get_legend().get_texts()] == [
        "saturation_fraction"]
    assert training_figure([]) is None


def test_markdown_pipe_tables_are_read_with_their_headings():
    text = "# T\n\n## Summary\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nnote\n"
    (table,) = _markdown_tables(text)
    assert (table.title, table.columns, table.rows) == ("Summary", ["a", "b"],
                                                        [["1", "2"], ["3", "4"]])


def test_write_report_refuses_what_it_cannot_or_should_not_do(prediction_dir, tmp_path):
    with pytest.raises(JimnetInputError, match="not a directory"):
        write_report(tmp_path / "missing")
    with pytest.raises(JimnetInputError, match="nothing to report"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()
    with pytest.raises(JimnetInputError, match="already exists"):
        write_report(prediction_dir)
    before = (prediction_dir / "report.html").stat().st_mtime_ns
    assert write_report(prediction_dir, force=True).stat().st_mtime_ns >= before


def test_run_info_is_json_safe_and_shown(tmp_path):
    from datetime import UTC, datetime

    info = run_info("jimnet predict", {"out": Path("/x"), "tol": math.nan, "k": np.int64(3)},
                    device=torch.device("cpu"), started=datetime.now(UTC),
                    scores={"accuracy_gmm": 0.75})
    assert json.loads(json.dumps(info))["settings"] == {"out": "/x", "tol": None, "k": 3}
    write_volume(tmp_path / "class_001.mrc", _blob_reference(1).astype(np.float32), 8.0)
    write_report(tmp_path, run_info=info)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "jimnet predict report" in html and "accuracy gmm" in html and "0.75" in html
    assert json.loads((tmp_path / "run.json").read_text())["command"] == "jimnet predict"
