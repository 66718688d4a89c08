import torch

from jimnet.average import compute_fsc, wedge_weighted_average
from jimnet.geometry import random_rotations
from tests.align.helpers import add_noise, make_blob, posed, wedge_filter

N = 20
TILT = (-60.0, 60.0)


def _particles(count: int, snr: float, seed: int):
    ref = make_blob(N, 5)
    rots = torch.as_tensor(random_rotations(count, seed), dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    shifts = (torch.rand(count, 3, generator=g) - 0.5) * 4.0
    parts = torch.stack([
        add_noise(wedge_filter(posed(ref, r, t), TILT), snr, seed * 1000 + i)
        for i, (r, t) in enumerate(zip(rots, shifts, strict=True))
    ])
    return ref, parts, rots, shifts


def test_single_unwedged_particle_at_identity_is_returned():
    ref = make_blob(N, 1)
    avg = wedge_weighted_average(ref[None], torch.eye(3)[None], torch.zeros(1, 3))
    # Only the Fourier sphere |k| ≤ N/2 is kept: compare after the same restriction.
    from jimnet.fourier import sphere_mask

    lp = torch.fft.irfftn(torch.fft.rfftn(ref) * sphere_mask((N, N, N), 0.5, "rfft"), s=(N,) * 3)
    torch.testing.assert_close(avg, lp, atol=1e-4, rtol=0)


def test_averaging_aligned_noisy_copies_approaches_template():
    ref, parts, rots, shifts = _particles(32, 0.5, 3)
    wedges = [TILT] * len(parts)
    resolutions, correlations = [], []
    for count in (2, 8, 32):
        avg = wedge_weighted_average(parts[:count], rots[:count], shifts[:count], wedges[:count])
        fsc = compute_fsc(avg, ref, 10.0, 0.5)
        resolutions.append(fsc.resolution)
        correlations.append(float(fsc.fsc[1:6].mean()))
    assert correlations[0] < correlations[1] < correlations[2]
    assert resolutions[2] <= resolutions[0]
    assert correlations[2] > 0.9


def test_wedge_weighting_fills_the_wedge():
    # Noise-free copies in several orientations: dividing by the summed rotated wedges restores
    # the full spectrum, a plain average of the aligned copies does not.
    ref, parts, rots, shifts = _particles(6, float("inf"), 4)
    parts = torch.stack([wedge_filter(posed(ref, r, t), TILT)
                         for r, t in zip(rots, shifts, strict=True)])
    weighted = wedge_weighted_average(parts, rots, shifts, [TILT] * 6)
    plain = wedge_weighted_average(parts, rots, shifts, None)
    c_w = float(compute_fsc(weighted, ref, 10.0, 0.5).fsc[1:8].mean())
    c_p = float(compute_fsc(plain, ref, 10.0, 0.5).fsc[1:8].mean())
    assert c_w > c_p and c_w > 0.95
