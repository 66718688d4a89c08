from typer.testing import CliRunner

from jimnet.cli.main import app


def test_demo_runs_end_to_end_on_a_tiny_set(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "--n-per-class", "3", "--epochs", "1", "--width",
                                   "0.0625", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    for row in ("clustering accuracy (final classes)", "clustering accuracy (M_CP)",
                "mean rotation error", "mean translation error", "resolution", "wall time"):
        assert row in res.output, row
    assert (out / "data" / "particles.star").is_file()
    assert (out / "run" / "model.pt").is_file()
    assert (out / "predict" / "particles.star").is_file()
    report = (out / "predict" / "report.html").read_text(encoding="utf-8")
    assert "jimnet demo report" in report and "accuracy gmm" in report


def test_demo_rejects_impossible_settings(tmp_path):
    res = CliRunner().invoke(app, ["demo", "--n-per-class", "1", "--out", str(tmp_path / "d")])
    assert res.exit_code == 2 and "--n-per-class" in res.output
    assert not (tmp_path / "d").exists()
