"""Pair protocol and per-structure clustering accuracy on hand-made cases."""

import math

import numpy as np
import pytest
import torch

from jimnet.align import AlignParams
from jimnet.benchmark.paper import pooled_mean_std
from jimnet.benchmark.protocols import (
    PairErrors,
    align_pairs_parallel,
    mean_std,
    network_pair_poses,
    pair_errors,
    same_class_pairs,
    structure_accuracy,
)
from jimnet.benchmark.scales import SCALES, get_scale
from jimnet.errors import JimnetInputError
from jimnet.features import Normalisation
from jimnet.io import ParticleSet
from jimnet.models import GumNet


def _rot_z(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def test_same_class_pairs_are_disjoint_and_within_class():
    classes = np.array([1, 2, 1, 2, 1, 2, 1, 3])
    pairs = same_class_pairs(classes, 5)
    assert pairs.tolist() == [[0, 2], [4, 6], [1, 3]]  # class 2 has 3 members, class 3 one
    assert same_class_pairs(classes, 1).tolist() == [[0, 2], [1, 3]]
    assert same_class_pairs(np.array([1]), 2).shape == (0, 2)


def test_pair_errors_on_a_known_case():
    # Particle 0: identity pose; particle 1: rotated 90° about z and shifted (1, 2, 2) voxels.
    rot = np.stack([np.eye(3), _rot_z(90.0)])
    shift = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    classes = np.array([3, 3])
    pairs = np.array([[0, 1]])
    # Perfect prediction of the pair pose T_1 ∘ T_0⁻¹ = T_1.
    exact = pair_errors(rot[1:], shift[1:], rot, shift, pairs, classes)
    assert exact.rotation == pytest.approx([0.0], abs=1e-12)
    assert exact.translation == pytest.approx([0.0])
    assert exact.classes.tolist() == [3]
    # Identity prediction: ‖R − I‖_F = 2√2·sin(45°) = 2; translation |(1, 2, 2)| = 3 voxels.
    ident = pair_errors(np.eye(3)[None], np.zeros((1, 3)), rot, shift, pairs, classes)
    assert ident.rotation == pytest.approx([2.0])
    assert ident.translation == pytest.approx([3.0])
    # Rounding first: a 0.4-voxel miss counts as 0, a 0.6-voxel miss as 1.
    near = pair_errors(rot[1:], shift[1:] + np.array([0.4, 0.0, 0.0]), rot, shift, pairs, classes)
    far = pair_errors(rot[1:], shift[1:] + np.array([0.0, 0.6, 0.0]), rot, shift, pairs, classes)
    assert near.translation[0] == 0.0 and far.translation[0] == 1.0


def test_pair_errors_select_stats_and_pooling():
    e = PairErrors(np.array([1, 1, 2, 2]), np.array([0.0, 2.0, 4.0, 6.0]),
                   np.array([1.0, 1.0, 3.0, 5.0]))
    assert e.select(2).stats() == (5.0, 1.0, 4.0, 1.0, 2)
    assert e.stats()[:2] == pytest.approx((3.0, math.sqrt(5.0)))
    # Equal pair counts: pooling the class stats gives the stats over all pairs.
    s1, s2 = e.select(1).stats(), e.select(2).stats()
    assert pooled_mean_std([s1[0], s2[0]], [s1[1], s2[1]]) == pytest.approx(e.stats()[:2])
    assert all(math.isnan(v) for v in mean_std(np.array([])))


def test_structure_accuracy_hand_made_example():
    # Class 1 (4 particles): 3 in cluster 2. Class 2 (4): all in cluster 0. Class 3 (2): split.
    true = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3])
    labels = np.array([2, 2, 2, 0, 0, 0, 0, 0, 1, 2])
    score = structure_accuracy(true, labels, 3)
    # Hungarian: cluster 2 → class 1, cluster 0 → class 2, cluster 1 → class 3.
    assert score.per_class.tolist() == pytest.approx([75.0, 100.0, 50.0])
    assert score.overall == pytest.approx(80.0)
    # Relabelling the clusters changes nothing.
    perm = np.array([5, 4, 3])[labels] - 3
    assert structure_accuracy(true, perm, 3).per_class.tolist() == pytest.approx(
        [75.0, 100.0, 50.0])


def test_align_pairs_parallel_in_process_chunks_and_reports_progress():
    g = torch.zeros(16, 16, 16)
    g[6:9, 8, 8] = 1.0
    g[8, 8:12, 8] = 2.0
    g[8, 8, 5:8] = 3.0
    target = torch.rot90(g, 1, dims=(1, 2))
    params = AlignParams(angular_step=30.0, final_step=5.0, n_candidates=3, n_peaks=50)
    done = []
    res = align_pairs_parallel(g[None].repeat(2, 1, 1, 1), target[None].repeat(2, 1, 1, 1),
                               [None, None], [None, None], method="ht", params=params,
                               chunk=1, progress=done.append)
    assert done == [1, 1]
    assert res.rotation.shape == (2, 3, 3) and res.shift.shape == (2, 3)
    assert torch.allclose(res.rotation[0], res.rotation[1])


def test_network_pair_poses_shapes(tiny_star):
    ps = ParticleSet.from_star(tiny_star)
    model = GumNet(width=0.0625, input_size=32)
    rot, shift = network_pair_poses(model, ps, np.array([[0, 1], [2, 3], [4, 5]]),
                                    Normalisation(0.0, 1.0), batch_size=2)
    assert rot.shape == (3, 3, 3) and shift.shape == (3, 3)
    assert np.allclose(rot @ rot.transpose(0, 2, 1), np.eye(3), atol=1e-5)


def test_scales():
    assert set(SCALES) == {"smoke", "cpu", "gpu", "paper"}
    cpu = get_scale("cpu")
    assert cpu.snrs == (100.0, 0.1, 0.05) and cpu.workers == 2
    paper = get_scale("paper")
    assert (paper.epochs, paper.finetune_epochs, paper.lr, paper.finetune_lr,
            paper.width) == (100, 20, 1e-5, 1e-6, 1.0)
    assert "estimate" not in cpu.sizes() and cpu.sizes()["n_per_class"] == 40
    with pytest.raises(JimnetInputError, match="--scale"):
        get_scale("huge")


def test_pair_errors_use_each_class_symmetry_only_for_that_class():
    from jimnet.geometry import compose_poses, invert_pose, random_rotations
    from jimnet.geometry.symmetry import symmetry_group

    rot, shift = random_rotations(4, 9), np.zeros((4, 3))
    classes = np.array([1, 1, 2, 2])
    pairs = np.array([[0, 1], [2, 3]])
    g = symmetry_group("C2")[1]
    # both predictions are off by the C2 mate of the first particle's pose
    pred = compose_poses(rot[pairs[:, 1]], shift[pairs[:, 1]],
                         *invert_pose(rot[pairs[:, 0]] @ g, shift[pairs[:, 0]]))
    res = pair_errors(*pred, rot, shift, pairs, classes, {2: "C2"})
    assert res.rotation[0] > 2.0 and res.rotation[1] < 1e-9  # 180° off in class 1 only
    assert res.classes.tolist() == [1, 2]
