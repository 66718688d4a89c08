"""Quadratic-fit local refinement and the multi-candidate search at low SNR."""

import numpy as np
import torch

from jimnet.align import AlignParams, align_to_reference
from jimnet.align.so3_grid import _lattice, axis_angle_to_matrix, quadratic_peak
from jimnet.geometry import geodesic_angle_deg, random_rotations
from tests.align.helpers import add_noise, make_blob, posed, wedge_filter


def test_quadratic_peak_recovers_the_maximum_of_a_quadratic():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    hess = -(a @ a.T + 0.5 * np.eye(3))  # negative definite
    peak = np.array([0.4, -0.7, 0.2])
    lat = _lattice(1).numpy()
    d = lat - peak
    scores = 3.0 + 0.5 * np.einsum("ki,ij,kj->k", d, hess, d)
    offset, ok = quadratic_peak(torch.as_tensor(scores)[None])
    assert bool(ok[0])
    np.testing.assert_allclose(offset[0].numpy(), peak, atol=1e-9)


def test_quadratic_peak_rejects_saddles_and_far_maxima():
    lat = _lattice(1).numpy()
    saddle = lat[:, 0] ** 2 - lat[:, 1] ** 2 - lat[:, 2] ** 2
    far = -((lat - np.array([3.0, 0.0, 0.0])) ** 2).sum(1)
    offset, ok = quadratic_peak(torch.as_tensor(np.stack([saddle, far])))
    assert not bool(ok.any())
    assert float(offset.abs().max()) == 0.0


def test_quadratic_peak_is_exact_for_a_rotation_score():
    # scores tr(Rᵀ R_true) on the lattice around the identity: maximum at R_true's axis-angle.
    omega = torch.tensor([0.1, -0.05, 0.08], dtype=torch.float64)  # radians
    step = np.radians(5.0)
    lat = _lattice(1)
    rots = axis_angle_to_matrix(lat * step)
    target = axis_angle_to_matrix(omega)
    scores = (rots * target).sum((-2, -1))
    offset, ok = quadratic_peak(scores[None])
    assert bool(ok[0])
    np.testing.assert_allclose(offset[0].numpy() * step, omega.numpy(), atol=2e-3)


def test_low_snr_particles_are_all_recovered():
    # SNR 0.05, ±50° wedge, a good (noise-free) reference: every particle of a fixed seeded set
    # must come back within 15° (a gross miss is ≥ 30°); several global candidates are refined.
    n, tilt = 20, (-50.0, 50.0)
    ref = make_blob(n, 21, n_gauss=16, sigma=1.3)
    rots = torch.as_tensor(random_rotations(6, 5), dtype=torch.float32)
    shifts = torch.tensor([[1.0, -2.0, 0.0], [0.0, 1.0, 2.0], [-1.0, 0.0, 1.0],
                           [2.0, 1.0, -1.0], [0.0, 0.0, 0.0], [-2.0, -1.0, 1.0]])
    parts = torch.stack([add_noise(wedge_filter(posed(ref, r, t), tilt), 0.05, 50 + i)
                         for i, (r, t) in enumerate(zip(rots, shifts, strict=True))])
    params = AlignParams(angular_step=25.0, final_step=2.0, n_candidates=6, n_peaks=60,
                         particle_radius=7.0)
    res = align_to_reference([parts], ref, [tilt] * 6, params=params, batch_size=6)
    err = geodesic_angle_deg(rots.double().numpy(), res.rotation.numpy())
    assert float(np.max(err)) < 15.0, err
    assert float((res.shift - shifts.double()).norm(dim=1).max()) < 1.5
