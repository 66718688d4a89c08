import numpy as np
import pytest
import starfile
from typer.testing import CliRunner

from jimnet.cli.main import app
from jimnet.cli.predict import write_prediction
from jimnet.io import ParticleSet, read_volume
from jimnet.models import load_model
from jimnet.predict import predict
from jimnet.train.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def tiny_model(tiny_star, tmp_path_factory):
    cfg = TrainConfig(n_clusters=2, width=0.0625, batch_size=4, warmup_epochs=1,
                      use_tsne=False, epochs=1, seed=1)
    run = tmp_path_factory.mktemp("run")
    Trainer(ParticleSet.from_star(tiny_star), cfg, run).fit()
    return run / "model.pt"


def test_predict_cli_writes_star_maps_and_figures(tiny_star, tiny_model, tmp_path):
    out = tmp_path / "pred"
    args = ["predict", tiny_star, "--model", str(tiny_model), "--out", str(out), "--iterations",
            "1", "--no-tsne", "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    table = starfile.read(out / "particles.star")["particles"]
    original = starfile.read(tiny_star)["particles"]
    assert set(original.columns) <= set(table.columns)  # every input column kept
    assert set(table["rlnClassNumber"]) <= {1, 2} and "jimnetClassMCP" in table.columns
    assert len(ParticleSet.from_star(out / "particles.star")) == len(original)  # paths resolve
    for name in ("embedding.png", "training.png", "class_averages.png", "fsc.png"):
        assert (out / name).stat().st_size > 0
    for k in sorted(set(table["rlnClassNumber"])):
        vol, voxel = read_volume(out / f"class_{k:03d}.mrc")
        assert vol.shape == (32, 32, 32) and voxel == 10.0 and np.isfinite(vol).all()
        assert (out / f"fsc_{k:03d}.csv").read_text().startswith("frequency_per_voxel")
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "already exists" in again.output


def test_written_poses_read_back_as_predicted(tiny_star, tiny_model, tmp_path):
    ps = ParticleSet.from_star(tiny_star)
    result = predict(load_model(tiny_model), ps, n_clusters=2, iterations=1, use_tsne=False,
                     batch_size=4)
    write_prediction(result, ps, tmp_path / "pred")
    rot, shift = ParticleSet.from_star(tmp_path / "pred" / "particles.star").poses()
    np.testing.assert_allclose(rot, result.rotations, atol=1e-6)
    np.testing.assert_allclose(shift, result.shifts, atol=1e-4)
    classes = ParticleSet.from_star(tmp_path / "pred" / "particles.star").class_numbers()
    np.testing.assert_array_equal(classes, result.labels + 1)
