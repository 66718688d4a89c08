import numpy as np

from jimnet.train import within_cluster_pairs


def test_pairs_stay_within_clusters_and_avoid_self_pairs():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 50)
    labels[0] = 7  # a singleton cluster pairs with itself
    pairs = within_cluster_pairs(labels, np.random.default_rng(2))
    np.testing.assert_array_equal(pairs[:, 0], np.arange(50))
    np.testing.assert_array_equal(labels[pairs[:, 0]], labels[pairs[:, 1]])
    assert pairs[0, 1] == 0
    assert np.all(pairs[1:, 0] != pairs[1:, 1])
    np.testing.assert_array_equal(np.sort(pairs[:, 1]), np.arange(50))  # each target once
