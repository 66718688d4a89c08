"""jimnet train2d / eval2d end to end on a tiny synthetic benchmark, and their bad-input errors."""

import pytest
from typer.testing import CliRunner

from jimnet.cli.main import app
from jimnet.simulate.pairs2d import Benchmark2DConfig, write_benchmark

runner = CliRunner()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    cfg = Benchmark2DConfig(n_classes=2, train_per_class=2, test_pairs_per_class=1, parts=4,
                            size_range=(60, 80), seed=5)
    return write_benchmark(tmp_path_factory.mktemp("b2d") / "bench", cfg)


def test_train_then_eval(bench, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train2d", str(bench / "train_pairs.csv"), "--images",
                                 str(bench / "images"), "--classes", "2", "--out", str(run),
                                 "--width", "0.25", "--pretrain-epochs", "1", "--epochs", "1",
                                 "--batch-size", "2", "--no-tsne", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (run / "model.pt").is_file() and (run / "checkpoint.pt").is_file()
    result = runner.invoke(app, ["eval2d", str(bench / "test_pairs.csv"), "--images",
                                 str(bench / "images"), "--model", str(run / "model.pt"),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("PCK@0.1 ") and 0 <= float(last.split()[1]) <= 100
    assert (run / "pck_test_pairs.csv").read_text().startswith("source_image,target_image")
    # non-empty run directory without --force/--resume
    result = runner.invoke(app, ["train2d", str(bench / "train_pairs.csv"), "--images",
                                 str(bench / "images"), "--out", str(run), "--classes", "2"])
    assert result.exit_code == 2 and "not empty" in result.output


def test_identity_baseline(bench, tmp_path):
    out = tmp_path / "identity.csv"
    result = runner.invoke(app, ["eval2d", str(bench / "test_pairs.csv"), "--images",
                                 str(bench / "images"), "--model", "identity", "--out",
                                 str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("PCK@0.1 ")
    assert out.read_text().count("\n") == 3


@pytest.mark.parametrize(("edit", "message"), [
    (lambda row: row.replace(".png,1,", ".png,7,", 1), "row 2: unknown class 7"),
    (lambda row: row.replace("_b.png", "_zz.png", 1), "row 2: missing image"),
    (lambda row: ",".join([*row.split(",")[:3], "1;oops", *row.split(",")[4:]]),
     "row 2: malformed keypoint string in column XA"),
])
def test_bad_input_names_the_row(bench, tmp_path, edit, message):
    lines = (bench / "test_pairs.csv").read_text().splitlines()
    lines[1] = edit(lines[1])
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["eval2d", str(bad), "--images", str(bench / "images"),
                                 "--model", "identity", "--classes", "2",
                                 "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2, result.output
    assert message in result.output and not (tmp_path / "o.csv").exists()
