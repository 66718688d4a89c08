import pytest
from typer.testing import CliRunner

from jimnet import __version__
from jimnet.cli.main import app
from jimnet.io import ParticleSet
from tests.io.helpers import write_plain_dataset, write_relion5_dataset
from tests.io.test_particles import CASES, _corrupt

runner = CliRunner()


def _snapshot(directory):
    return sorted((p.relative_to(directory), p.stat().st_mtime_ns) for p in directory.rglob("*"))


def test_help_and_version():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for text in ["degrees", "ZYZ", "Å", "zyx", "info"]:
        assert text in result.output, text
    result = runner.invoke(app, ["info", "--help"])
    assert result.exit_code == 0 and "--pixel-size" in result.output
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_info_on_plain_starfile_output(tmp_path):
    path = write_plain_dataset(tmp_path, n=4, box=8, voxel_size=5.0)
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "particles" in out and " 4 " in out
    assert "8³" in out and "5 Å" in out and "0.5 nm" in out
    assert "-60" in out and "60" in out
    assert "rlnClassNumber" in out and "50.0%" in out


def test_info_on_relion5_and_jimnet_output(tmp_path):
    path = write_relion5_dataset(tmp_path / "r5")
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    assert "tomograms" in result.output
    out = ParticleSet.from_star(path).write_star(tmp_path / "out" / "p.star")
    result = runner.invoke(app, ["info", str(out), "--no-check-values"])
    assert result.exit_code == 0, result.output


def test_info_pixel_size_option(tmp_path):
    path = write_plain_dataset(tmp_path, n=2, voxel_size=0.0)
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 2
    result = runner.invoke(app, ["info", str(path), "--pixel-size", "12.5"])
    assert result.exit_code == 0, result.output
    assert "12.5 Å" in result.output and "1.25 nm" in result.output


def _assert_input_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("case", CASES)
def test_info_bad_volumes_exit_2(tmp_path, case):
    path = write_plain_dataset(tmp_path, n=4)
    _corrupt(tmp_path, case)
    before = _snapshot(tmp_path)
    result = runner.invoke(app, ["info", str(path)])
    _assert_input_error(result, "particles.star row 3", "p02.mrc")
    assert _snapshot(tmp_path) == before  # nothing written


def test_info_missing_star(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path / "nope.star")])
    _assert_input_error(result, "nope.star")
    assert list(tmp_path.iterdir()) == []


def test_info_star_without_image_name(tmp_path):
    path = write_plain_dataset(tmp_path, n=2)
    path.write_text(path.read_text().replace("_rlnImageName", "_rlnSomethingElse"))
    result = runner.invoke(app, ["info", str(path)])
    _assert_input_error(result, "particles.star", "rlnImageName")


@pytest.mark.parametrize("bad", ["nan", "oops"])
def test_info_bad_angle_exit_2(tmp_path, bad):
    path = write_plain_dataset(tmp_path, n=3)
    lines = path.read_text().splitlines()
    data_rows = [i for i, line in enumerate(lines) if "vols/p01.mrc" in line]
    fields = lines[data_rows[0]].split("\t")
    fields[2] = bad  # rlnAngleRot (column 3)
    lines[data_rows[0]] = "\t".join(fields)
    path.write_text("\n".join(lines) + "\n")
    before = _snapshot(tmp_path)
    result = runner.invoke(app, ["info", str(path)])
    _assert_input_error(result, "particles.star row 2", "vols/p01.mrc", "rlnAngleRot")
    assert _snapshot(tmp_path) == before
