import numpy as np

from jimnet.evaluate import clustering_accuracy


def test_permuted_labels_score_perfectly():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 200)
    perm = rng.permutation(5)
    score = clustering_accuracy(truth, perm[truth])
    assert score.accuracy == 1.0
    np.testing.assert_allclose(score.per_class_recall, 1.0)


def test_accuracy_against_brute_force_over_permutations():
    from itertools import permutations

    rng = np.random.default_rng(1)
    truth = rng.integers(0, 4, 60)
    pred = np.where(rng.random(60) < 0.6, truth, rng.integers(0, 4, 60))
    best = max(np.mean(np.array(p)[pred] == truth) for p in permutations(range(4)))
    assert np.isclose(clustering_accuracy(truth, pred).accuracy, best)


def test_empty_cluster_and_single_cluster_prediction():
    truth = np.array([0, 0, 1, 1, 2, 2])
    score = clustering_accuracy(truth, np.zeros(6, dtype=int), n_classes=3)
    assert np.isclose(score.accuracy, 2 / 6)
    assert np.nansum(score.per_class_recall) == 1.0
