import json
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from jimnet.cli.main import app
from jimnet.io import ParticleSet
from jimnet.train.pica import (
    PicaTrainer,
    partition_uncertainty_index,
    pica_entropy_term,
    pica_loss,
)
from jimnet.train.trainer import TrainConfig

TINY = {"model": "pica", "n_clusters": 2, "width": 0.0625, "batch_size": 4, "seed": 5,
        "device": "cpu"}
runner = CliRunner()


@pytest.fixture(autouse=True)
def _single_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _reference_loss(p: np.ndarray, p2: np.ndarray, lam: float) -> float:
    """PICA's loss written out with numpy."""
    ph = p / np.sqrt((p**2).sum(0))
    ph2 = p2 / np.sqrt((p2**2).sum(0))
    m = ph.T @ ph2
    log_softmax = m - np.log(np.exp(m).sum(1, keepdims=True))
    ce = -np.mean(np.diag(log_softmax))
    q = p.sum(0) / p.sum()
    return ce + lam * (np.log(p.shape[1]) + np.sum(q * np.log(q)))


def test_loss_matches_a_hand_computed_three_by_two_example():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    p2 = np.array([[0.7, 0.3], [0.1, 0.9], [0.5, 0.5]])
    # by hand: column norms of P are √1.21 = 1.1 and √0.81 = 0.9
    ph = p / np.array([1.1, 0.9])
    np.testing.assert_allclose((ph**2).sum(0), 1.0)
    total, parts = pica_loss(torch.tensor(p), torch.tensor(p2), lam=2.0)
    assert float(total) == pytest.approx(_reference_loss(p, p2, 2.0), rel=1e-12)
    q = np.array([1.7, 1.3]) / 3
    assert float(parts["entropy"]) == pytest.approx(np.log(2) + np.sum(q * np.log(q)))
    m = partition_uncertainty_index(torch.tensor(p), torch.tensor(p2)).numpy()
    np.testing.assert_allclose(m[0, 0], (0.9 * 0.7 + 0.2 * 0.1 + 0.6 * 0.5) / (1.1 * np.sqrt(
        0.75)))
    assert float(total) == pytest.approx(float(parts["pui"]) + 2.0 * float(parts["entropy"]))


def test_entropy_term_closed_forms():
    k = 4
    uniform = torch.full((6, k), 1.0 / k)
    assert float(pica_entropy_term(uniform)) == pytest.approx(0.0, abs=1e-12)
    collapsed = torch.zeros(5, k, dtype=torch.float64)
    collapsed[:, 2] = 1.0
    assert float(pica_entropy_term(collapsed)) == pytest.approx(math.log(k))
    # balanced hard assignments: q uniform
    balanced = torch.eye(k, dtype=torch.float64).repeat(2, 1)
    assert float(pica_entropy_term(balanced)) == pytest.approx(0.0, abs=1e-12)


def test_minimum_at_one_hot_consistent_balanced_assignments():
    k, b = 3, 6
    one_hot = torch.eye(k, dtype=torch.float64).repeat(b // k, 1)
    best, parts = pica_loss(one_hot, one_hot, lam=2.0)
    torch.testing.assert_close(partition_uncertainty_index(one_hot, one_hot),
                               torch.eye(k, dtype=torch.float64))
    assert float(best) == pytest.approx(math.log(1 + (k - 1) / math.e))
    assert float(parts["entropy"]) == pytest.approx(0.0, abs=1e-12)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        p = torch.softmax(3 * torch.randn(b, k, generator=g, dtype=torch.float64), 1)
        p2 = torch.softmax(3 * torch.randn(b, k, generator=g, dtype=torch.float64), 1)
        assert float(pica_loss(p, p2)[0]) > float(best)
        assert float(pica_loss(p, p)[0]) >= float(best) - 1e-12
    # inconsistent under the perturbation or unbalanced: worse
    shuffled = one_hot[torch.tensor([1, 2, 0, 4, 5, 3])]
    assert float(pica_loss(one_hot, shuffled)[0]) > float(best) + 0.1
    unbalanced = torch.eye(k, dtype=torch.float64)[torch.tensor([0, 0, 0, 0, 1, 2])]
    assert float(pica_loss(unbalanced, unbalanced)[0]) > float(best) + 0.1


def test_loss_gradient_is_finite():
    logits = torch.randn(5, 3, requires_grad=True)
    total, _ = pica_loss(torch.softmax(logits, 1), torch.softmax(logits.flip(0), 1))
    total.backward()
    assert torch.isfinite(logits.grad).all()


def test_one_epoch_same_seed_and_resume(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    straight = PicaTrainer(particles, TrainConfig(epochs=2, **TINY), tmp_path / "a")
    results = straight.fit()
    first = results[0]
    assert {"total", "pui", "entropy"} <= set(first.losses)
    assert np.isfinite(first.losses["total"]) and sum(first.cluster_sizes) == 8
    assert 0.0 <= first.accuracy_gmm <= 1.0 and results[1].label_change is not None
    for name in ("checkpoint.pt", "model.pt", "metrics.jsonl", "config.json"):
        assert (tmp_path / "a" / name).is_file(), name
    assert len((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()) == 2
    np.testing.assert_array_equal(straight.predict_labels(), straight.labels)
    first_run = PicaTrainer(particles, TrainConfig(epochs=1, **TINY), tmp_path / "b")
    first_run.fit()
    resumed = PicaTrainer(particles, TrainConfig(epochs=2, **TINY), tmp_path / "b")
    resumed.fit(resume=True)
    np.testing.assert_array_equal(resumed.labels, straight.labels)
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_cli_trains_the_baselines(tiny_star, tmp_path):
    out = tmp_path / "d"
    result = runner.invoke(app, ["train", tiny_star, "--model", "pica", "--epochs", "1",
                                 "--width", "0.0625", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "metrics.jsonl").read_text())
    assert record["epoch"] == 1 and sum(record["cluster_sizes"]) == 8
    assert json.loads((out / "config.json").read_text())["model"] == "pica"
    result = runner.invoke(app, ["train", tiny_star, "--model", "deepcluster", "-k", "2",
                                 "--epochs", "2", "--width", "0.0625", "--out", str(out),
                                 "--force", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    result = runner.invoke(app, ["train", tiny_star, "--model", "deepcluster", "-k", "2",
                                 "--epochs", "3", "--width", "0.0625", "--out", str(out),
                                 "--resume", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "epoch 2 of 3" in " ".join(result.output.split())
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
    result = runner.invoke(app, ["train", tiny_star, "--model", "dec", "--out", str(out)])
    assert result.exit_code == 2 and "deepcluster" in result.stderr
