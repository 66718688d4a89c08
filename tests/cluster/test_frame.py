"""Common-frame features: zero for the average itself, blind to the missing wedge, see shape;
correlations with a reference seen as each particle is."""

import numpy as np
import torch

from jimnet.cluster.frame import frame_correlations, frame_differences, frame_features
from jimnet.evaluate import clustering_accuracy
from jimnet.fourier import wedge_mask
from jimnet.geometry import random_rotations
from jimnet.transform import rigid_transform
from tests.align.helpers import make_blob, wedge_filter

N = 24
TILT = (-50.0, 50.0)


class _Particles:
    """The two methods of ParticleSet that frame_features reads."""

    def __init__(self, volumes: torch.Tensor, tilt: tuple[float, float]) -> None:
        self.volumes = volumes
        self.tilts = np.tile(tilt, (len(volumes), 1))

    def __len__(self) -> int:
        return len(self.volumes)

    def get_batch(self, idx) -> torch.Tensor:
        return self.volumes[np.asarray(idx)]

    def tilt_ranges(self) -> np.ndarray:
        return self.tilts


def _identity(b: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(np.eye(3), (b, 1, 1)), np.zeros((b, 3))


def test_the_average_itself_differs_by_nothing_and_another_shape_does():
    average = make_blob(N, seed=1)
    rot, shift = _identity(2)
    vols = torch.stack([wedge_filter(average, TILT), wedge_filter(make_blob(N, seed=2), TILT)])
    diff = frame_differences(vols, rot, shift, [TILT] * 2, average, particle_radius=8.0)
    assert diff[0].abs().max() < 1e-4 * diff[1].abs().max()


def test_content_in_the_missing_wedge_changes_nothing():
    average = make_blob(N, seed=1)
    particle = wedge_filter(make_blob(N, seed=3), TILT)
    observed = wedge_mask((N, N, N), *TILT, layout="rfft")
    noise = torch.randn(N, N, N, generator=torch.Generator().manual_seed(0))
    unseen = torch.fft.irfftn(torch.fft.rfftn(noise) * (1 - observed), s=(N,) * 3)
    rot, shift = _identity(2)
    diff = frame_differences(torch.stack([particle, particle + 10 * unseen]), rot, shift,
                             [TILT] * 2, average, particle_radius=8.0)
    torch.testing.assert_close(diff[0], diff[1], rtol=0, atol=1e-4 * float(diff[0].abs().max()))


def test_posed_copies_of_two_shapes_of_equal_size_separate_with_their_poses():
    # same Gaussians, different arrangement: the shell power barely differs, the shape does
    shapes = [make_blob(N, seed=5), make_blob(N, seed=6)]
    average = (shapes[0] + shapes[1]) / 2
    classes = np.repeat([0, 1], 8)
    rots = random_rotations(len(classes), seed=7)
    shifts = np.random.default_rng(8).uniform(-2, 2, size=(len(classes), 3))
    vols = torch.stack([
        wedge_filter(rigid_transform(shapes[c], torch.as_tensor(r, dtype=torch.float32),
                                     torch.as_tensor(t, dtype=torch.float32)), TILT)
        for c, r, t in zip(classes, rots, shifts, strict=True)])
    vols = vols + 0.05 * vols.std() * torch.randn(vols.shape,
                                                  generator=torch.Generator().manual_seed(9))
    feats = frame_features(_Particles(vols, TILT), rots, shifts, average, particle_radius=9.0,
                           n_components=3, batch_size=5)
    assert feats.shape == (16, 3)
    labels = (feats[:, 0] > np.median(feats[:, 0])).astype(int)
    assert clustering_accuracy(classes, labels).accuracy == 1.0


def test_few_particles_get_fewer_components():
    average = make_blob(N, seed=1)
    vols = torch.stack([wedge_filter(make_blob(N, seed=s), TILT) for s in (2, 3, 4)])
    rot, shift = _identity(3)
    feats = frame_features(_Particles(vols, TILT), rot, shift, average, particle_radius=8.0)
    assert feats.shape == (3, 2) and np.isfinite(feats).all()


def test_frame_features_of_a_subset_are_those_of_the_subset_alone():
    average = make_blob(N, seed=1)
    vols = torch.stack([wedge_filter(make_blob(N, seed=s), TILT) for s in range(2, 9)])
    rot = random_rotations(len(vols), seed=3)
    shift = np.random.default_rng(4).uniform(-1, 1, (len(vols), 3))
    subset = np.array([5, 1, 3, 6])
    inside = frame_features(_Particles(vols, TILT), rot, shift, average, particle_radius=8.0,
                            n_components=2, indices=subset)
    alone = frame_features(_Particles(vols[subset], TILT), rot[subset], shift[subset], average,
                           particle_radius=8.0, n_components=2)
    np.testing.assert_allclose(np.abs(inside), np.abs(alone), rtol=1e-4, atol=1e-6)


def test_a_posed_wedged_copy_correlates_one_its_negative_minus_one_noise_about_zero():
    reference = make_blob(N, seed=1)
    rots = random_rotations(2, seed=2)
    shifts = np.array([[1.0, -0.5, 0.0], [0.0, 1.5, -1.0]])
    copies = [wedge_filter(rigid_transform(reference, torch.as_tensor(r, dtype=torch.float32),
                                           torch.as_tensor(t, dtype=torch.float32)), TILT)
              for r, t in zip(rots, shifts, strict=True)]
    noise = torch.randn(N, N, N, generator=torch.Generator().manual_seed(3))
    vols = torch.stack([copies[0], -copies[1], noise])
    corr = frame_correlations(vols, np.concatenate([rots, rots[:1]]),
                              np.concatenate([shifts, shifts[:1]]), [TILT] * 3, reference,
                              particle_radius=9.0)
    assert corr[0] > 0.97 and corr[1] < -0.97 and abs(float(corr[2])) < 0.15
