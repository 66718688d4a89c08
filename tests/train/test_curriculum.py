import json

import numpy as np
import pytest
import torch

from jimnet.errors import JimnetInputError
from jimnet.fourier import wedge_mask
from jimnet.geometry import geodesic_angle_deg
from jimnet.io import ParticleSet
from jimnet.models import AlignmentOutput, StagePose, warp
from jimnet.train.curriculum import (
    ANGLE_LADDER_DEG,
    SHIFT_LADDER_VOX,
    CaptureRange,
    Curriculum,
    capture_range,
    copy_pair,
    residual_poses,
)
from jimnet.train.trainer import TrainConfig, Trainer


@pytest.fixture(autouse=True)
def _single_thread():
    """One intra-op thread: on a busy 2-core machine OpenMP spinning slows tiny 3D convs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY = {"n_clusters": 2, "width": 0.0625, "batch_size": 4, "warmup_epochs": 2, "use_tsne": False,
        "seed": 5}


def test_residual_poses_respect_their_bounds():
    rng = np.random.default_rng(0)
    rot, shift = residual_poses(200, 30.0, 2.0, rng)
    angles = geodesic_angle_deg(np.tile(np.eye(3), (200, 1, 1)), rot)
    assert angles.max() <= 30.0 + 1e-9 and angles.max() > 25.0
    assert np.linalg.norm(shift, axis=1).max() <= 2.0 + 1e-12
    rot, shift = residual_poses(5, 45.0, 3.0, rng, exact=True)
    np.testing.assert_allclose(geodesic_angle_deg(np.tile(np.eye(3), (5, 1, 1)), rot), 45.0)
    np.testing.assert_allclose(np.linalg.norm(shift, axis=1), 3.0)


def test_copy_pair_moves_the_wedge_with_the_copy():
    vol = torch.randn(2, 16, 16, 16, dtype=torch.float64)
    rot, shift = residual_poses(2, 40.0, 1.0, np.random.default_rng(1))
    tilts = (torch.tensor([-60.0, -45.0], dtype=torch.float64),
             torch.tensor([60.0, 50.0], dtype=torch.float64))
    target, observed = copy_pair(vol, torch.from_numpy(rot), torch.from_numpy(shift), tilts)
    torch.testing.assert_close(target, warp(vol, torch.from_numpy(rot), torch.from_numpy(shift)))
    expected = wedge_mask((16,) * 3, *tilts, torch.from_numpy(rot), layout="unshifted")
    torch.testing.assert_close(observed, expected)
    assert not torch.equal(observed, wedge_mask((16,) * 3, *tilts, None, layout="unshifted"))


class _Identity(torch.nn.Module):
    """Always predicts the identity pose."""

    training = False

    def forward(self, source, target):
        b = source.shape[0]
        rot, shift = torch.eye(3).expand(b, 3, 3), torch.zeros(b, 3)
        stage = StagePose(torch.zeros(b, 6), rot, shift, shift)
        return AlignmentOutput(rot, shift, source, source, (stage,))


def test_capture_range_of_the_identity_is_zero_with_closed_form_curve():
    cap = capture_range(_Identity(), torch.randn(3, 8, 8, 8), seed=0)
    assert cap.rotation_deg == 0.0 and cap.shift_vox == 0.0
    expected = [2 * np.sqrt(2) * np.sin(np.deg2rad(a) / 2) for a in ANGLE_LADDER_DEG]
    np.testing.assert_allclose(list(cap.rotation_curve.values()), expected, atol=1e-6)
    np.testing.assert_allclose(list(cap.shift_curve.values()), SHIFT_LADDER_VOX, atol=1e-6)


def test_curriculum_grows_with_the_capture_range_within_limits():
    cur = Curriculum(20.0, 2.0, 20.0, 2.0, 1.5, shift_limit=8.0)
    cur.update(CaptureRange(30.0, 4.0, {}, {}))
    assert (cur.max_deg, cur.max_shift) == (45.0, 6.0)
    cur.update(CaptureRange(150.0, 8.0, {}, {}))
    assert (cur.max_deg, cur.max_shift) == (180.0, 8.0)
    cur.update(CaptureRange(0.0, 0.0, {}, {}))
    assert (cur.max_deg, cur.max_shift) == (20.0, 2.0)


def test_self_curriculum_epoch_logs_capture_range_saturation_and_resumes(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    cfg = TrainConfig(epochs=1, curriculum="self", wedge_loss="masked", capture_probes=2,
                      **{**TINY, "width": 0.03})
    trainer = Trainer(particles, cfg, tmp_path / "run")
    (result,) = trainer.fit()
    assert result.residual_deg == 20.0 and result.residual_vox == 2.0
    assert result.capture_deg in (*ANGLE_LADDER_DEG, 0.0)
    assert 0.0 <= result.saturated <= 1.0 and result.rotation_error is not None
    assert np.isfinite(result.losses["guard"])
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert {"saturated", "capture_deg", "capture_vox"} <= set(record)
    resumed = Trainer(particles, cfg, tmp_path / "run")
    resumed.load()
    assert resumed.curriculum == trainer.curriculum


def test_copy_pose_loss_is_logged_only_when_weighted(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    base = {"epochs": 1, "curriculum": "self", "wedge_loss": "masked", "capture_probes": 2,
            **{**TINY, "width": 0.03}}
    (with_pose,) = Trainer(particles, TrainConfig(copy_pose_weight=1.0, **base),
                           tmp_path / "a").fit()
    (without,) = Trainer(particles, TrainConfig(**base), tmp_path / "b").fit()
    assert with_pose.losses["pose"] > 0 and "pose" not in without.losses
    # the total includes the weighted pose term
    assert with_pose.losses["total"] > with_pose.losses["pose"]


def test_paper_faithful_config_and_curriculum_validation(tiny_star, tmp_path):
    paper = TrainConfig.paper_faithful(epochs=1, **TINY)
    assert (paper.rotation_param, paper.head_init, paper.bn_recalibration,
            paper.wedge_loss) == ("euler", "gumnet", 0, "imputed")
    particles = ParticleSet.from_star(tiny_star)
    trainer = Trainer(particles, paper, tmp_path / "paper")
    cfg = trainer.model.config
    assert (cfg.rotation_param, cfg.coarse_init, cfg.bn_momentum) == ("euler", "gumnet", 0.01)
    with pytest.raises(JimnetInputError, match="masked"):
        Trainer(particles, TrainConfig(curriculum="self", wedge_loss="imputed", **TINY),
                tmp_path / "x")


def test_train_cli_curriculum_and_paper_faithful_options(tiny_star, tmp_path):
    from typer.testing import CliRunner

    from jimnet.cli.main import app

    runner = CliRunner()
    base = ["train", tiny_star, "--classes", "2", "--epochs", "1", "--width", "0.03",
            "--batch-size", "4", "--no-tsne", "--device", "cpu", "--quiet"]
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "a"), "--curriculum", "self"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()[0])
    assert record["capture_deg"] is not None and record["residual_deg"] == 20.0
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "b"), "--paper-faithful"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert (config["rotation_param"], config["wedge_loss"]) == ("euler", "imputed")
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "c"), "--curriculum", "big"])
    assert result.exit_code == 2 and "--curriculum" in result.stderr
