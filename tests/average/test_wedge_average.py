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


def _symmetric_particles(count: int, seed: int):
    from jimnet.simulate.symmetric import symmetric_blobs

    ref = torch.from_numpy(symmetric_blobs(N, "D2", seed, extent=0.18))
    rots = torch.as_tensor(random_rotations(count, seed), dtype=torch.float32)
    parts = torch.stack([wedge_filter(posed(ref, r, torch.zeros(3)), TILT) for r in rots])
    return ref, parts, rots


def test_symmetrised_average_equals_the_average_of_the_symmetry_expanded_set():
    from jimnet.geometry.symmetry import symmetry_group

    _, parts, rots = _symmetric_particles(3, 1)
    group = torch.as_tensor(symmetry_group("D2"), dtype=torch.float32)
    expanded_rot = (rots[:, None] @ group).reshape(-1, 3, 3)  # mates R g, particle-major
    expanded = parts.repeat_interleave(len(group), 0)
    wedges = [TILT] * len(expanded)
    sym = wedge_weighted_average(parts, rots, torch.zeros(3, 3), [TILT] * 3, symmetry="D2")
    ref = wedge_weighted_average(expanded, expanded_rot, torch.zeros(len(expanded), 3), wedges)
    torch.testing.assert_close(sym, ref, atol=1e-5, rtol=1e-5)


def test_symmetrised_average_is_symmetric_and_fills_the_wedge():
    from jimnet.geometry.symmetry import symmetry_group

    ref, parts, rots = _symmetric_particles(1, 2)
    plain = wedge_weighted_average(parts, rots, torch.zeros(1, 3), [TILT])
    sym = wedge_weighted_average(parts, rots, torch.zeros(1, 3), [TILT], symmetry="D2")
    axis = torch.arange(N) - N // 2
    inside = (axis[:, None, None] ** 2 + axis[:, None] ** 2 + axis**2) < (N / 2 - 3) ** 2

    def asymmetry(vol, g):  # inside a sphere: rotation moves the box corners out
        return float((posed(vol, g, torch.zeros(3)) - vol)[inside].norm() / vol[inside].norm())

    for g in torch.as_tensor(symmetry_group("D2"), dtype=torch.float32)[1:]:
        assert asymmetry(sym, g) < 0.05
        assert asymmetry(plain, g) > 0.1
    # one wedged particle: its mates cover part of its missing wedge
    assert compute_fsc(sym, ref, 10.0, 0.5).resolution < compute_fsc(plain, ref, 10.0,
                                                                      0.5).resolution
