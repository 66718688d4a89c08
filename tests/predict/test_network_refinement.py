"""``align="hybrid"``: the network's local refinement of given poses (jimnet.predict.pipeline)."""

import numpy as np
import torch

from jimnet.features import Normalisation
from jimnet.geometry import compose_poses, invert_pose, rotation_error_frobenius, rotvec_to_matrix
from jimnet.io import ParticleSet
from jimnet.models import warp
from jimnet.predict.pipeline import ClassResult, network_refinement
from tests.conftest import _blob_reference


class _ScriptedNetwork:
    """Stands in for a JimNet3D: answers the given member → target poses in call order and
    records every target it was shown."""

    def __init__(self, rotations: np.ndarray, shifts: np.ndarray):
        self.rotations, self.shifts, self.targets, self.calls = rotations, shifts, [], 0

    def __call__(self, src: torch.Tensor, target: torch.Tensor):
        sel = slice(self.calls, self.calls + len(src))
        self.calls += len(src)
        self.targets.append(target.clone())
        answer = (self.rotations[sel], self.shifts[sel])

        class _Out:
            def pose_numpy(self):
                return answer
        return _Out()


def _small_rotations(n: int, deg: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return rotvec_to_matrix(torch.from_numpy(axes * np.deg2rad(deg))).numpy()


def _one_class(ps: ParticleSet, members: np.ndarray, maps) -> list[ClassResult]:
    halves = 1 + np.arange(len(members)) % 2
    return [ClassResult(1, members, maps[0], tuple(maps), halves=halves)]


def test_an_oracle_correction_brings_perturbed_poses_back_to_the_truth(tiny_star):
    ps = ParticleSet.from_star(tiny_star)
    members = np.flatnonzero(ps.class_numbers() == 1)
    template = torch.from_numpy(_blob_reference(1)).float()
    true_r, true_t = (a[members] for a in ps.poses())
    # Start 12° and ~1.5 voxels off: P = E ∘ P_true.
    err_r = _small_rotations(len(members), 12.0, seed=0)
    err_t = np.random.default_rng(1).normal(scale=0.9, size=(len(members), 3))
    start_r, start_t = compose_poses(err_r, err_t, true_r, true_t)
    # The pose a perfect network answers maps the member P_true(avg) onto P(avg): P ∘ P_true⁻¹.
    oracle_r, oracle_t = compose_poses(start_r, start_t, *invert_pose(true_r, true_t))
    for i in range(len(members)):  # that meaning checked on volumes, not on algebra
        member = warp(template[None], *(torch.from_numpy(a[i:i + 1]).float()
                                        for a in (true_r, true_t)))
        target = warp(template[None], *(torch.from_numpy(a[i:i + 1]).float()
                                        for a in (start_r, start_t)))
        moved = warp(member, *(torch.from_numpy(a[i:i + 1]).float() for a in (oracle_r, oracle_t)))
        assert torch.corrcoef(torch.stack([moved.flatten(), target.flatten()]))[0, 1] > 0.99
    # Members are visited half by half (1, then 2), in order within each half.
    order = np.concatenate([np.arange(len(members))[h::2] for h in (0, 1)])
    net = _ScriptedNetwork(oracle_r[order], oracle_t[order])
    rotations, shifts = ps.poses()
    rotations[members], shifts[members] = start_r, start_t
    new_r, new_t, classes = network_refinement(
        net, ps, _one_class(ps, members, (template, template)), rotations, shifts,
        Normalisation(0.0, 1.0), batch_size=3)
    assert net.calls == len(members)
    assert rotation_error_frobenius(true_r, new_r[members]).max() < 1e-6
    np.testing.assert_allclose(new_t[members], true_t, atol=1e-6)
    others = np.setdiff1d(np.arange(len(ps)), members)
    np.testing.assert_array_equal(new_r[others], rotations[others])  # other classes untouched
    assert classes[0].half_maps is not None and classes[0].average.shape == template.shape


def test_each_half_is_compared_with_its_own_map_only(tiny_star):
    ps = ParticleSet.from_star(tiny_star)
    members = np.flatnonzero(ps.class_numbers() == 2)
    template = torch.from_numpy(_blob_reference(2)).float()
    identity = np.tile(np.eye(3), (len(members), 1, 1)), np.zeros((len(members), 3))
    net = _ScriptedNetwork(*identity)
    rotations, shifts = ps.poses()
    network_refinement(net, ps, _one_class(ps, members, (template, -template)), rotations,
                       shifts, Normalisation(0.0, 1.0), batch_size=1)
    # The target shown for a member is its half's map posed like the member and seen through
    # its missing wedge; map 2 = −map 1.
    visited = [(m, 1) for m in members[0::2]] + [(m, 2) for m in members[1::2]]
    for target, (member, half) in zip(net.targets, visited, strict=True):
        posed = warp(template[None], *(torch.from_numpy(a[member:member + 1]).float()
                                       for a in (rotations, shifts)))
        r = torch.corrcoef(torch.stack([target.flatten(), posed.flatten()]))[0, 1]
        assert (r > 0.7) if half == 1 else (r < -0.7), (member, float(r))  # wedge: < 1
