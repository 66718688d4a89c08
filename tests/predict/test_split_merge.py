"""Split-and-merge of reference-free classes (jimnet.predict.split_merge)."""

import numpy as np
import pytest
import torch

from jimnet.align import AlignParams
from jimnet.geometry import random_rotations
from jimnet.io import ParticleSet
from jimnet.predict.split_merge import class_similarity, split_and_merge, two_groups
from jimnet.transform import rigid_transform


def _blobs(n: int, seed: int, count: int = 5, spread: float = 0.2) -> torch.Tensor:
    """An asymmetric object: ``count`` Gaussian blobs of different weights within
    ``spread · n`` of the centre."""
    rng = np.random.default_rng(seed)
    grid = torch.stack(torch.meshgrid(*[torch.arange(n, dtype=torch.float32) - n // 2] * 3,
                                      indexing="ij"))
    vol = torch.zeros(n, n, n)
    for _ in range(count):
        centre = torch.as_tensor(rng.uniform(-spread * n, spread * n, 3), dtype=torch.float32)
        vol += float(rng.uniform(0.5, 1.5)) * torch.exp(
            -((grid - centre[:, None, None, None]) ** 2).sum(0) / (2 * 1.5 ** 2))
    return vol


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def test_class_similarity_is_about_one_for_one_structure_and_its_pose_superposes():
    n, gen = 16, torch.Generator().manual_seed(0)
    a, c = _blobs(n, 1), _blobs(n, 2, count=2, spread=0.3)  # compact vs. dumbbell
    rot = torch.as_tensor(random_rotations(1, 3)[0], dtype=torch.float32)
    b = rigid_transform(a[None], rot[None], torch.tensor([[1.0, -1.0, 0.5]]))[0]

    def halves(v):
        return tuple(v + 0.15 * v.std() * torch.randn(v.shape, generator=gen) for _ in (1, 2))

    maps = {1: halves(a), 2: halves(b), 3: halves(c)}
    params = AlignParams(angular_step=20.0, final_step=2.0, particle_radius=6.0)
    averages = {c: 0.5 * (h[0] + h[1]) for c, h in maps.items()}
    sim, poses = class_similarity(averages, maps, params, 6.0)
    assert sim.shape == (3, 3) and np.allclose(sim, sim.T)
    assert sim[0, 1] > 0.9 and sim[0, 2] < sim[0, 1] - 0.15 and sim[1, 2] < sim[0, 1] - 0.15
    r, t = poses[(1, 2)]  # class 2's frame onto class 1's
    moved = rigid_transform(maps[2][0][None], torch.as_tensor(r, dtype=torch.float32)[None],
                            torch.as_tensor(t, dtype=torch.float32)[None])[0]
    assert _corr(moved, maps[1][0]) > 0.95
    back_r, _ = poses[(2, 1)]
    np.testing.assert_allclose(back_r, r.T, atol=1e-9)


def test_two_groups_splits_a_mixture_and_refuses_one_gaussian_or_an_outlier():
    rng = np.random.default_rng(0)
    far = rng.normal(0, 1, (20, 3)) + np.array([6.0, 0.0, 0.0])
    mixture = np.concatenate([rng.normal(0, 1, (30, 3)), far])
    labels = two_groups(mixture, min_fraction=0.15, seed=0)
    assert labels is not None
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1 and labels[0] != labels[30]
    assert two_groups(rng.normal(0, 1, (50, 3)), min_fraction=0.15, seed=0) is None
    outlier = np.concatenate([rng.normal(0, 1, (49, 3)), [[40.0, 40.0, 40.0]]])
    assert two_groups(outlier, min_fraction=0.15, seed=0) is None


@pytest.fixture(scope="module")
def three_structures(tmp_path_factory):
    from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory

    out = tmp_path_factory.mktemp("split_merge") / "set"
    cfg = SimulationConfig(mode="fourier", snr=100.0, box=20, voxel_size=20.0, resolution=30.0,
                           max_shift=1.0, integer_shifts=False, seed=3, normalize="particle")
    simulate_to_directory(out, [load_structure(s) for s in ("4v4r_30S", "4cr2", "1qvr")], 12,
                          cfg)
    return ParticleSet.from_star(out / "particles.star")


def _split_and_merge_at_true_poses(ps: ParticleSet, labels: np.ndarray):
    """split_and_merge of 3 classes ``labels`` (0-based), every member at its true pose (what a
    converged refinement looks like), with the classical path's search settings."""
    from jimnet.align.refine import RefineConfig, RefineResult, members_average, state_from
    from jimnet.predict.pipeline import classical_params

    coarse, fine = classical_params(ps.box_size, 7.0)
    config = RefineConfig(n_classes=3, n_iterations=1, params=coarse, local_params=fine,
                          seed=0)
    state = state_from(labels + 1, *ps.poses())
    averages = {c: members_average(ps, np.flatnonzero(state.classes == c), state, config)
                for c in (1, 2, 3)}
    return split_and_merge(ps, RefineResult(state, averages, {}, {}), config, (7.0,) * 3)


def test_split_and_merge_repairs_a_spread_class_and_a_shared_one(three_structures):
    from jimnet.evaluate import clustering_accuracy

    ps = three_structures
    truth = ps.class_numbers() - 1
    # a shape-blind start: structure 0 spread over clusters 0 and 1, structures 1 and 2
    # sharing cluster 2
    labels = np.where(truth == 0, np.arange(len(truth)) % 2, 2)
    repaired = _split_and_merge_at_true_poses(ps, labels)
    assert repaired is not None and set(np.unique(repaired.classes)) == {1, 2, 3}
    assert clustering_accuracy(truth, repaired.classes - 1).accuracy == 1.0
    # the merged halves of structure 0 share one frame: the spread cluster 1's members moved
    # into cluster 0's frame (the same true frame here, so their poses barely change)
    rotations = ps.poses()[0]
    moved = truth == 0
    angle = np.arccos(np.clip((np.trace(np.swapaxes(repaired.rotations[moved], 1, 2)
                                        @ rotations[moved], axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert np.degrees(angle).max() < 10.0


def test_split_and_merge_leaves_pure_classes_alone(three_structures):
    from jimnet.evaluate import clustering_accuracy

    truth = three_structures.class_numbers() - 1
    repaired = _split_and_merge_at_true_poses(three_structures, truth)
    assert repaired is None or clustering_accuracy(truth, repaired.classes - 1).accuracy == 1.0
