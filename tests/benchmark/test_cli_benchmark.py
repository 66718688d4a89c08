"""``jimnet benchmark --scale smoke`` end to end (tiny sizes), reuse of --data, bad input."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from jimnet.cli.main import app

runner = CliRunner()

ALL_ROWS_ALIGN = {"oracle", "ht", "fa", "gumnet", "jimnet", "predict"}
ALL_ROWS_CLUSTER = {"deepcluster", "pica", "jimnet-cluster", "jimnet-mcp", "jimnet", "spectral",
                    "predict"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results"
    result = runner.invoke(app, ["benchmark", "--scale", "smoke", "--out", str(out),
                                 "--device", "cpu", "--seed", "3"])
    assert result.exit_code == 0, result.output
    return out, result


def test_smoke_benchmark_produces_all_tables(smoke_run):
    out, result = smoke_run
    stems = ["alignment_S1_5LQW", "alignment_S2_1I6V", "alignment_S3_6A5L", "alignment_S4_5T2C",
             "alignment_S5_5MPA", "clustering_S6_5LQW", "clustering_S7_1I6V",
             "clustering_S8_6A5L", "clustering_S9_5T2C", "clustering_S10_5MPA",
             "alignment_summary", "clustering_summary"]
    for stem in stems:
        assert (out / f"{stem}.md").is_file() and (out / f"{stem}.csv").is_file(), stem
    for name in ("alignment_vs_snr.png", "clustering_vs_snr.png", "results.json", "README.md",
                 "report.html"):
        assert (out / name).is_file(), name
    log = (out / "benchmark.log").read_text().splitlines()
    assert any(line.startswith("SNR 0.1 pica:") for line in log)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "summary of S1–S5" in html and "summary of S6–S10" in html
    assert "Training: jimnet/snr_0.1" in html and html.count("<img") >= 3
    # Data simulated into OUT/data (both SNRs), models per method and SNR (SNR 100 base model).
    for snr in ("snr_100", "snr_0.1"):
        assert (out / "data" / snr / "particles.star").is_file()
        assert (out / "runs" / "jimnet" / snr / "model.pt").is_file()
    finetune = json.loads((out / "runs" / "jimnet" / "snr_0.1" / "config.json").read_text())
    assert finetune["init"].endswith("snr_100/model.pt") and finetune["epochs"] == 1

    align = pd.read_csv(out / "alignment_summary.csv", comment="#")
    assert set(align["row"]) == ALL_ROWS_ALIGN
    assert (align["status"] == "ok").all(), align[["row", "snr", "status"]]
    assert align["rot_mean"].between(0, 2 * 2**0.5).all()
    cluster = pd.read_csv(out / "clustering_summary.csv", comment="#")
    assert set(cluster["row"]) == ALL_ROWS_CLUSTER
    # DeepCluster and PICA (jimnet.train.deepcluster / .pica) must run, not be "not available".
    assert (cluster["status"] == "ok").all(), cluster[["row", "snr", "status"]]
    assert cluster["accuracy"].between(0, 100).all()
    per = pd.read_csv(out / "alignment_S4_5T2C.csv", comment="#")
    assert set(per["snr"]) == {100.0, 0.1} and (per["n_pairs"] == 1).all()

    md = (out / "clustering_S6_5LQW.md").read_text()
    for needle in ("--scale smoke", "seed: 3", "scale: smoke", "wall time", "device: cpu",
                   "jimnet version", "| DeepCluster |", "86.7"):
        assert needle in md, needle
    assert "Jim-Net" in result.output and "wrote" in result.output


def test_existing_output_is_kept_without_force(smoke_run):
    out, _ = smoke_run
    before = (out / "README.md").read_text()
    result = runner.invoke(app, ["benchmark", "--out", str(out), "--methods", "ht"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: ") and "--force" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (out / "README.md").read_text() == before


def test_existing_data_is_reused_and_base_model_trained_at_snr_100(smoke_run, tmp_path):
    data = smoke_run[0] / "data"
    stamp = (data / "snr_0.1" / "particles.star").stat().st_mtime_ns
    out = tmp_path / "r2"
    result = runner.invoke(app, ["benchmark", "--out", str(out), "--data", str(data),
                                 "--methods", "ht,gumnet", "--snr", "0.1", "--quiet",
                                 "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert (data / "snr_0.1" / "particles.star").stat().st_mtime_ns == stamp
    assert not (out / "data").exists()
    # Gum-Net's base model is trained at SNR 100 even though only SNR 0.1 is reported.
    assert (out / "runs" / "gumnet" / "snr_100" / "model.pt").is_file()
    table = pd.read_csv(out / "alignment_summary.csv", comment="#")
    assert set(table["row"]) == {"ht", "gumnet"} and set(table["snr"]) == {0.1}
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert meta["data"] == str(data) and meta["methods"] == ["ht", "gumnet"]


@pytest.mark.parametrize("args, needle", [
    (["--methods", "ht,nope"], "nope"),
    (["--snr", "0"], "--snr"),
    (["--snr", "0.1,0.1"], "distinct"),
    (["--scale", "huge"], "huge"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    out = tmp_path / "bad"
    result = runner.invoke(app, ["benchmark", "--out", str(out), "--quiet", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert not out.exists()


def test_help_explains_units_outputs_and_scales():
    result = runner.invoke(app, ["benchmark", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())  # rich panel borders
    for needle in ("Frobenius", "dimensionless", "voxels", "alignment_S1_5LQW", "smoke", "cpu",
                   "paper", "45 minutes", "oracle"):
        assert needle in text, needle
