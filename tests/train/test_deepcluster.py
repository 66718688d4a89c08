import json

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from jimnet.errors import JimnetInputError
from jimnet.io import ParticleSet
from jimnet.train.deepcluster import (
    DeepClusterTrainer,
    fill_empty_clusters,
    kmeans_pseudo_labels,
    l2_normalise_rows,
    pca_whiten,
    sample_uniform_over_classes,
    uniform_class_weights,
)
from jimnet.train.trainer import TrainConfig

TINY = {"model": "deepcluster", "n_clusters": 2, "width": 0.0625, "batch_size": 4, "seed": 5,
        "device": "cpu"}


@pytest.fixture(autouse=True)
def _single_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_pca_whitening_gives_identity_covariance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)) @ rng.normal(size=(6, 10)) + 3.0  # rank 6 in 10-D
    z = pca_whiten(x, dim=64)
    assert z.shape == (50, 6)  # clipped to the rank
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(6), atol=1e-8)
    assert pca_whiten(x, dim=3).shape == (50, 3)
    assert pca_whiten(x[:4], dim=64).shape == (4, 3)  # ≤ n − 1
    assert pca_whiten(np.ones((5, 3))).shape == (5, 1)  # constant features do not blow up
    np.testing.assert_allclose(np.linalg.norm(l2_normalise_rows(z), axis=1), 1.0)


def test_fill_empty_clusters_splits_donors_and_leaves_no_empty_cluster():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 3))
    labels = np.array([0] * 7 + [3] * 5)  # clusters 1, 2 and 4 empty
    filled, centroids = fill_empty_clusters(x, labels, 5, np.random.default_rng(2))
    sizes = np.bincount(filled, minlength=5)
    assert (sizes > 0).all() and sizes.sum() == 12
    # points only leave the donors' clusters for the formerly empty ones
    for old, new in zip(labels, filled, strict=True):
        assert new == old or new in (1, 2, 4)
    for k in range(5):
        np.testing.assert_allclose(centroids[k], x[filled == k].mean(0))
    # nothing to do: unchanged
    same, _ = fill_empty_clusters(x, filled, 5, np.random.default_rng(3))
    np.testing.assert_array_equal(same, filled)


def test_fill_empty_clusters_with_identical_points_falls_back_to_halving():
    x = np.ones((4, 2))
    filled, _ = fill_empty_clusters(x, np.zeros(4, dtype=int), 3, np.random.default_rng(0))
    assert sorted(np.bincount(filled, minlength=3)) == [1, 1, 2]


def test_kmeans_pseudo_labels_find_separated_blobs_deterministically():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10.0, size=(3, 8))
    truth = np.repeat(np.arange(3), 10)
    x = centres[truth] + rng.normal(size=(30, 8))
    # whitening gives the 6 pure-noise directions unit variance too: keep the 2 signal ones
    a = kmeans_pseudo_labels(x, 3, np.random.default_rng(4), pca_dim=2)
    b = kmeans_pseudo_labels(x, 3, np.random.default_rng(4), pca_dim=2)
    np.testing.assert_array_equal(a, b)
    assert adjusted_rand_score(truth, a) == 1.0
    # more clusters than distinct points: still every cluster non-empty
    dup = np.repeat(x[:2], 3, axis=0)
    assert (np.bincount(kmeans_pseudo_labels(dup, 4, rng), minlength=4) > 0).all()


def test_sampling_is_uniform_over_pseudo_classes():
    labels = np.array([0] + [1] * 3 + [2] * 6)
    w = uniform_class_weights(labels, 4)  # cluster 3 empty
    np.testing.assert_allclose(w, np.array([1] + [1 / 3] * 3 + [1 / 6] * 6) / 3)
    draws = sample_uniform_over_classes(labels, 60000, 4, np.random.default_rng(0))
    class_freq = np.bincount(labels[draws], minlength=3) / len(draws)
    np.testing.assert_allclose(class_freq, 1 / 3, atol=0.01)
    sample_freq = np.bincount(draws, minlength=10) / len(draws)
    np.testing.assert_allclose(sample_freq, w, atol=0.006)


def test_one_epoch_writes_the_run_directory(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    trainer = DeepClusterTrainer(particles, TrainConfig(epochs=1, **TINY), tmp_path / "run")
    (result,) = trainer.fit()
    assert result.epoch == 1 == trainer.epoch and sum(result.cluster_sizes) == len(particles)
    assert np.isfinite(result.losses["total"]) and 0.0 <= result.accuracy_gmm <= 1.0
    assert result.label_change is None and result.seconds > 0
    for name in ("checkpoint.pt", "model.pt", "metrics.jsonl", "config.json"):
        assert (tmp_path / "run" / name).is_file(), name
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text())["epoch"] == 1
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"] == "deepcluster"
    labels = trainer.predict_labels()
    assert labels.shape == (8,) and labels.min() >= 0 and labels.max() < 2
    assert trainer.norm is not None


def test_same_seed_same_labels_and_resume_equals_straight_run(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    straight = DeepClusterTrainer(particles, TrainConfig(epochs=2, **TINY), tmp_path / "a")
    results = straight.fit()
    assert "nmi_previous" in results[1].losses and results[1].label_change is not None
    first = DeepClusterTrainer(particles, TrainConfig(epochs=1, **TINY), tmp_path / "b")
    first.fit()  # "killed" after epoch 1
    resumed = DeepClusterTrainer(particles, TrainConfig(epochs=2, **TINY), tmp_path / "b")
    resumed.fit(resume=True)
    assert resumed.epoch == 2
    np.testing.assert_array_equal(resumed.labels, straight.labels)
    np.testing.assert_array_equal(resumed.predict_labels(), straight.predict_labels())
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_head_reinitialisation_is_seeded_and_resets_its_optimiser_state(tiny_star, tmp_path):
    particles = ParticleSet.from_star(tiny_star)
    trainer = DeepClusterTrainer(particles, TrainConfig(epochs=1, **TINY), tmp_path / "h")
    trainer.fit()
    head = trainer.model.cluster_head
    assert head.weight in trainer.optimizer.state
    trainer.reset_head(3)
    w = head.weight.detach().clone()
    assert head.weight not in trainer.optimizer.state
    trainer.reset_head(3)
    torch.testing.assert_close(head.weight.detach(), w)


def test_refuses_multi_process_runs_and_other_models(tiny_star, tmp_path, monkeypatch):
    particles = ParticleSet.from_star(tiny_star)
    with pytest.raises(JimnetInputError, match="model"):
        DeepClusterTrainer(particles, TrainConfig(**{**TINY, "model": "pica"}), tmp_path)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(JimnetInputError, match="single-process"):
        DeepClusterTrainer(particles, TrainConfig(**TINY), tmp_path)
