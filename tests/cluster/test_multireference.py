"""Multi-reference classification recovers classes of the same size from a poor start."""

import numpy as np
import pytest
import torch

from jimnet.align import AlignParams
from jimnet.cluster.multireference import assign_by_score, multireference_classification
from jimnet.evaluate import clustering_accuracy
from jimnet.geometry import random_rotations
from jimnet.io import ParticleSet, ParticleStar, pose_to_relion, write_particle_star, write_volume
from jimnet.io.star import make_optics_table, make_particles_table
from jimnet.transform import rigid_transform
from tests.align.helpers import make_blob, wedge_filter

N = 20
TILT = (-60.0, 60.0)


@pytest.fixture(scope="module")
def two_shapes(tmp_path_factory):
    """Two asymmetric blobs of equal size, 6 posed, wedge-filtered, noisy copies each."""
    root = tmp_path_factory.mktemp("two_shapes")
    refs = [make_blob(N, seed=s, n_gauss=6, sigma=1.3) for s in (5, 6)]
    classes = np.repeat([1, 2], 6)
    rots = random_rotations(len(classes), seed=1)
    rng = np.random.default_rng(2)
    names = []
    for i, (k, r) in enumerate(zip(classes, rots, strict=True)):
        vol = rigid_transform(refs[k - 1], torch.from_numpy(r).float(), torch.zeros(3))
        vol = wedge_filter(vol, TILT)
        vol = vol + torch.from_numpy(rng.normal(0, 0.3 * float(vol.std()), vol.shape)).float()
        names.append(f"p{i:02d}.mrc")
        write_volume(root / names[-1], vol.numpy(), 10.0)
    angles, origins = pose_to_relion(rots, np.zeros((len(classes), 3)), 10.0)
    table = make_particles_table(names, angles_deg=angles, origins_xyz_angst=origins,
                                 class_numbers=classes)
    star = ParticleStar(particles=table, optics=make_optics_table(10.0, N), other_blocks={},
                        path=None)
    write_particle_star(root / "particles.star", star)
    return ParticleSet.from_star(root / "particles.star")


def test_standardised_scores_undo_a_reference_that_correlates_with_everything():
    # Reference 0 scores higher with every particle; standardising per reference still sends
    # each particle to the reference it matches unusually well.
    scores = np.array([[0.9, 0.3], [0.9, 0.2], [0.8, 0.6], [0.8, 0.7]])
    assert scores.argmax(1).tolist() == [0, 0, 0, 0]
    assert assign_by_score(scores).tolist() == [0, 0, 1, 1]


def test_multireference_classification_recovers_two_shapes(two_shapes):
    truth = two_shapes.class_numbers() - 1
    start = truth.copy()
    start[[0, 1, 6]] = 1 - start[[0, 1, 6]]  # 3 of 12 wrong
    params = AlignParams(angular_step=40.0, final_step=10.0, n_candidates=2)
    res = multireference_classification(two_shapes, start, 2, rounds=1, params=params)
    assert clustering_accuracy(truth + 1, res.labels).accuracy == 1.0
    assert res.scores.shape == (12, 2) and res.rotations.shape == (12, 3, 3)
    assert res.history[0]["changed"] > 0


def test_bad_initial_labels_are_refused(two_shapes):
    with pytest.raises(ValueError, match="initial_labels"):
        multireference_classification(two_shapes, np.zeros(3, dtype=int), 2)
