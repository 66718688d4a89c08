import shutil

from typer.testing import CliRunner

from jimnet.cli.main import app


def test_report_command_rewrites_a_folder_report_only_with_force(prediction_dir, tmp_path):
    folder = tmp_path / "pred"
    shutil.copytree(prediction_dir, folder)
    (folder / "report.html").unlink()
    res = CliRunner().invoke(app, ["report", str(folder)])
    assert res.exit_code == 0, res.output
    first = (folder / "report.html").read_text(encoding="utf-8")
    assert "class 2: 4 members" in first
    again = CliRunner().invoke(app, ["report", str(folder)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert CliRunner().invoke(app, ["report", str(folder), "--force"]).exit_code == 0


def test_report_command_on_a_folder_without_results_exits_2(tmp_path):
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "nothing to report" in res.output
    assert not (tmp_path / "report.html").exists()
