import pytest
import torch

from jimnet.align import AlignParams, align, align_pairs, align_to_reference
from jimnet.geometry import geodesic_angle_deg, random_rotations
from tests.align.helpers import add_noise, make_blob, posed, rotation_about, wedge_filter

N = 20
FAST = AlignParams(angular_step=25.0, n_candidates=4, n_peaks=40, n_seeds=12, max_freq=0.4)


def _angle(a, b) -> float:
    return float(geodesic_angle_deg(a.double().numpy(), b.double().numpy()))


@pytest.mark.parametrize("method", ["ht", "fa"])
def test_exact_copy_is_recovered(method):
    ref = make_blob(N, 1)
    rot = torch.as_tensor(random_rotations(1, 7)[0], dtype=torch.float32)
    shift = torch.tensor([1.5, -2.0, 0.7])
    tgt = posed(ref, rot, shift)
    res = align(ref, tgt, method=method, params=FAST)
    assert _angle(rot, res.rotation) < 2.0
    assert float((res.shift - shift.double()).norm()) < 0.5
    assert 0.8 < float(res.score) <= 1.0 + 1e-6
    # the direction: the found pose maps the source onto the target
    back = posed(ref, res.rotation.float(), res.shift.float())
    assert float(torch.corrcoef(torch.stack([back.flatten(), tgt.flatten()]))[0, 1]) > 0.97


def test_wedge_handling_helps_at_low_snr():
    # Tilt range ±45°; the target is the source turned 90° about x, which turns its missing
    # wedge too: ignoring the wedges biases the score towards keeping the wedges aligned.
    tilt = (-45.0, 45.0)
    params = AlignParams(angular_step=30.0, n_candidates=3, n_peaks=30, final_step=2.0,
                         max_freq=0.35)
    ref = make_blob(N, 11)
    errors = {True: [], False: []}
    for seed in range(3):
        rot = rotation_about(2, 90.0) @ rotation_about(0, 20.0 * seed)
        src = add_noise(wedge_filter(ref, tilt), 0.5, 100 + seed)
        tgt = add_noise(wedge_filter(posed(ref, rot, [0.0, 0.0, 0.0]), tilt), 0.5, 200 + seed)
        for use in (True, False):
            w = tilt if use else None
            res = align(src, tgt, w, w, method="ht", params=params)
            errors[use].append(_angle(rot, res.rotation))
    with_w = sum(errors[True]) / 3
    without = sum(errors[False]) / 3
    assert with_w < without
    assert with_w < 10.0


def test_align_pairs_batched_matches_single():
    ref = make_blob(N, 2)
    rots = torch.as_tensor(random_rotations(2, 3), dtype=torch.float32)
    tgts = torch.stack([posed(ref, r, [1.0, 0.0, -1.0]) for r in rots])
    res = align_pairs(ref.expand(2, N, N, N), tgts, method="ht", params=FAST, batch_size=2)
    assert res.rotation.shape == (2, 3, 3) and res.shift.shape == (2, 3) and res.score.shape == (2,)
    for k in range(2):
        assert _angle(rots[k], res.rotation[k]) < 2.0


def test_align_to_reference_gives_reference_to_particle_poses():
    ref = make_blob(N, 4)
    rots = torch.as_tensor(random_rotations(3, 9), dtype=torch.float32)
    shifts = torch.tensor([[1.0, -1.0, 2.0], [0.0, 2.5, -1.5], [-2.0, 0.5, 0.0]])
    parts = torch.stack([posed(ref, r, t) for r, t in zip(rots, shifts, strict=True)])
    res = align_to_reference([parts[:2], parts[2]], ref, [None] * 3, method="fa", params=FAST,
                             batch_size=2)
    for k in range(3):
        assert _angle(rots[k], res.rotation[k]) < 2.0
        assert float((res.shift[k] - shifts[k].double()).norm()) < 0.5


def test_bad_inputs():
    ref = make_blob(N, 0)
    with pytest.raises(ValueError, match="method"):
        align(ref, ref, method="nope", params=FAST)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        align(ref, ref * float("nan"), params=FAST)
    with pytest.raises(ValueError, match="max_freq"):
        AlignParams(max_freq=0.7)
