import torch

from jimnet.align import AlignParams
from jimnet.average import iterative_average
from jimnet.geometry import geodesic_angle_deg, random_rotations
from tests.align.helpers import make_blob, posed, wedge_filter

N = 16
TILT = (-60.0, 60.0)


def test_reference_free_average_recovers_relative_poses():
    ref = make_blob(N, 8, n_gauss=10, sigma=1.0)
    rots = torch.as_tensor(random_rotations(4, 12), dtype=torch.float32)
    shifts = torch.tensor([[1.0, 0.0, -1.0], [0.0, -1.0, 0.5], [-0.5, 1.0, 0.0], [0.0, 0.0, 0.0]])
    parts = torch.stack([wedge_filter(posed(ref, r, t), TILT)
                         for r, t in zip(rots, shifts, strict=True)])
    params = AlignParams(angular_step=30.0, n_candidates=2, n_peaks=20, final_step=2.0,
                         max_freq=0.45, max_moves=2)
    calls = []
    res = iterative_average(parts, [TILT] * 4, n_iterations=2, params=params, seed=0,
                            progress=lambda d, t: calls.append((d, t)))
    assert res.average.shape == (N, N, N)
    assert len(res.mean_scores) == 2 and calls[-1] == (8, 8)
    # The average's frame is arbitrary; relative poses R_i R_0ᵀ are not.
    est = res.rotations.numpy()
    true = rots.double().numpy()
    for i in range(1, 4):
        err = geodesic_angle_deg(true[i] @ true[0].T, est[i] @ est[0].T)
        assert float(err) < 6.0
