"""The report writes markdown, CSV and PNG files whose headers record the run."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from jimnet.benchmark.protocols import ClusterScores, PairErrors
from jimnet.benchmark.report import write_report
from jimnet.benchmark.results import BenchmarkResults, Unavailable

META = {
    "command": "jimnet benchmark --out R --scale smoke", "seed": 7, "scale": "smoke",
    "sizes": {"n_per_class": 4, "pairs_per_class": 2, "epochs": 1, "finetune_epochs": 1,
              "cluster_epochs": 1, "width": 0.0625, "batch_size": 4},
    "methods": ["oracle", "ht", "jimnet", "pica"], "device": "cpu (test)",
    "jimnet_version": "9.9.9", "torch_version": "x", "wall_time_s": 12.3,
    "started_utc": "2026-01-01T00:00:00+00:00", "data": "/data",
}
HEADER_NEEDLES = ["jimnet benchmark --out R --scale smoke", "seed: 7", "scale: smoke",
                  "4 particles/class", "wall time: 12 s", "cpu (test)", "9.9.9"]


def _results() -> BenchmarkResults:
    res = BenchmarkResults(meta=dict(META), snrs=[100.0, 0.1])
    classes = np.repeat(np.arange(1, 6), 2)
    for snr in res.snrs:
        for key, scale in (("oracle", 0.1), ("ht", 1.0), ("jimnet", 0.5)):
            res.set_alignment(key, snr, PairErrors(classes, scale * classes / 5.0,
                                                   np.full(10, scale)))
        res.set_clustering("jimnet", snr, ClusterScores(90.0, np.array([100, 90, 80, 90, 90.])))
        res.set_clustering("jimnet-mcp", snr, ClusterScores(50.0, np.full(5, 50.0)))
        res.set_clustering("pica", snr, Unavailable("not available (test)"))
        res.add_time("ht", snr, 3.0)
    return res


def test_report_writes_all_tables_with_headers_and_paper_columns(tmp_path):
    written = write_report(tmp_path, _results())
    names = {p.name for p in written}
    stems = ["alignment_S1_5LQW", "alignment_S2_1I6V", "alignment_S3_6A5L", "alignment_S4_5T2C",
             "alignment_S5_5MPA", "clustering_S6_5LQW", "clustering_S7_1I6V",
             "clustering_S8_6A5L", "clustering_S9_5T2C", "clustering_S10_5MPA",
             "alignment_summary", "clustering_summary"]
    for stem in stems:
        assert {f"{stem}.md", f"{stem}.csv"} <= names
    assert {"alignment_vs_snr.png", "clustering_vs_snr.png", "results.json",
            "README.md"} <= names
    for path in tmp_path.glob("*.md"):
        text = path.read_text()
        for needle in HEADER_NEEDLES:
            assert needle in text, (path.name, needle)

    md = (tmp_path / "alignment_S2_1I6V.md").read_text()
    assert "Table S2" in md and "1I6V" in md and "1qvr" in md
    assert "| Method | SNR 100 ours | SNR 100 paper | SNR 0.1 ours | SNR 0.1 paper |" in md
    # Class 2 pairs of "ht": rotation 0.4 ± 0, translation 1 ± 0; paper S2 H-T beside it.
    assert "| H-T align | 0.40±0.00, 1.00±0.00 | 0.63±0.99, 3.15±4.27 |" in md
    assert "| Oracle (true template, exhaustive) | 0.04±0.00, 0.10±0.00 | – |" in md

    csv = pd.read_csv(tmp_path / "clustering_S8_6A5L.csv", comment="#")
    row = csv[(csv["row"] == "jimnet") & (csv["snr"] == 0.1)].iloc[0]
    assert (row["table"], row["structure"], row["accuracy"], row["paper_accuracy"]) == (
        "S8", "6A5L", 80.0, 98.8)
    pica = csv[csv["row"] == "pica"].iloc[0]
    assert pica["status"] == "not available (test)" and np.isnan(pica["accuracy"])
    header = (tmp_path / "clustering_S8_6A5L.csv").read_text().split("\ntable,")[0]
    for needle in HEADER_NEEDLES:
        assert needle in header, needle

    summary = (tmp_path / "clustering_summary.md").read_text()
    assert "| PICA | n/a | 100.0 | n/a | 86.5 |" in summary
    assert "| Jim-Net (GMM labels) | 90.0 | 100.0 | 90.0 | 99.7 |" in summary
    assert "not available (test)" in summary
    align = pd.read_csv(tmp_path / "alignment_summary.csv", comment="#")
    ht = align[(align["row"] == "ht") & (align["snr"] == 100.0)].iloc[0]
    assert ht["n_pairs"] == 10 and ht["rot_mean"] == pytest.approx(0.6)
    assert ht["paper_rot_mean"] == pytest.approx(0.298)

    for png in ("alignment_vs_snr.png", "clustering_vs_snr.png"):
        with Image.open(tmp_path / png) as im:
            assert im.size[0] > 500
            description = im.text["Description"]
        for needle in HEADER_NEEDLES:
            assert needle in description, (png, needle)

    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["meta"]["seed"] == 7 and doc["snrs"] == [100.0, 0.1]
    assert doc["alignment"]["ht"]["0.1"]["rotation_error"][-1] == 1.0
    assert doc["clustering"]["pica"]["100"]["status"] == "not available (test)"
    assert doc["timings_s"]["ht"]["100"] == 3.0
