import json

import numpy as np
import pytest
import torch

from jimnet.io import ParticleSet
from jimnet.train.trainer import TrainConfig, Trainer

TINY = {"n_clusters": 2, "width": 0.0625, "batch_size": 4, "warmup_epochs": 2, "use_tsne": False,
        "seed": 5}


def test_one_jimnet_epoch_logs_metrics_and_checkpoints(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    trainer = Trainer(particles, TrainConfig(epochs=1, **TINY), tmp_path / "run")
    (result,) = trainer.fit()
    assert result.epoch == 1
    assert sum(result.cluster_sizes) == len(particles)
    assert np.isfinite(result.losses["total"]) and {"align", "ce", "reg"} <= set(result.losses)
    assert 0.0 <= result.accuracy_gmm <= 1.0 and result.rotation_error is not None
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["epoch"] == 1
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    assert (tmp_path / "run" / "model.pt").exists()


def test_resume_reaches_the_same_state_as_an_uninterrupted_run(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    straight = Trainer(particles, TrainConfig(epochs=2, **TINY), tmp_path / "a")
    straight.fit()
    first = Trainer(particles, TrainConfig(epochs=1, **TINY), tmp_path / "b")
    first.fit()  # "killed" after epoch 1
    resumed = Trainer(particles, TrainConfig(epochs=2, **TINY), tmp_path / "b")
    resumed.fit(resume=True)
    assert resumed.epoch == 2
    np.testing.assert_array_equal(resumed.labels, straight.labels)
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_gumnet_trains_on_random_pairs(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    cfg = TrainConfig(model="gumnet", epochs=1, width=0.0625, batch_size=4, seed=0)
    (result,) = Trainer(particles, cfg, tmp_path / "g").fit()
    assert result.cluster_sizes == [] and np.isfinite(result.losses["align"])


def test_two_process_ddp_epoch_with_torchrun(tiny_star, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "jimnet", "train", tiny_star, "--out", str(out), "--classes", "2", "--epochs",
           "1", "--width", "0.0625", "--batch-size", "2", "--no-tsne", "--device", "cpu",
           "--quiet"]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert record["epoch"] == 1 and sum(record["cluster_sizes"]) == 8
    assert np.isfinite(record["losses"]["total"])


def test_cluster_only_ablation_leaves_the_alignment_branch_untouched(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    trainer = Trainer(particles, TrainConfig(epochs=1, cluster_only=True, **TINY), tmp_path / "c")
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    (result,) = trainer.fit()
    assert set(result.losses) == {"total", "ce"} and result.losses["total"] == result.losses["ce"]
    after = trainer.model.state_dict()
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert "cluster_head" in changed and "fe1" in changed  # CE reaches the shared extractor
    assert not changed & {"fe3", "coarse", "fine"}


def test_cluster_only_rejects_gumnet(tiny_star, tmp_path):
    from jimnet.errors import JimnetInputError

    with pytest.raises(JimnetInputError, match="cluster_only"):
        Trainer(ParticleSet.from_star(tiny_star),
                TrainConfig(model="gumnet", cluster_only=True), tmp_path / "x")


@pytest.mark.parametrize("model", ["jimnet", "gumnet"])
def test_masked_wedge_loss_trains_without_imputation(tiny_star, tmp_path, model):
    particles = ParticleSet.from_star(tiny_star)
    cfg = TrainConfig(model=model, epochs=1, wedge_loss="masked", **TINY)
    (result,) = Trainer(particles, cfg, tmp_path / "m").fit()
    assert 0.0 <= result.losses["align"] <= 1.0 and np.isfinite(result.losses["total"])


def test_unknown_wedge_loss_is_rejected(tiny_star, tmp_path):
    from jimnet.errors import JimnetInputError

    with pytest.raises(JimnetInputError, match="wedge_loss"):
        Trainer(ParticleSet.from_star(tiny_star), TrainConfig(wedge_loss="soft"), tmp_path / "x")


def test_train_cli_shows_every_phase_estimates_the_run_and_explains_its_table(tiny_star,
                                                                             tmp_path):
    from typer.testing import CliRunner

    from jimnet.cli.main import app

    res = CliRunner().invoke(app, ["train", tiny_star, "--out", str(tmp_path / "cli"),
                                   "--classes", "2", "--epochs", "1", "--width", "0.0625",
                                   "--batch-size", "4", "--no-tsne", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "first batch took" in text and "1 epoch(s) to go" in text
    for stage in ("clustering", "recalibrate", "train"):  # the progress display's rows
        assert f"{stage} " in text, stage
    assert "fraction of particles whose cluster changed" in text  # the table's columns
