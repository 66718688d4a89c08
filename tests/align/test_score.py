import torch

from jimnet.align.score import (
    PreparedPairs,
    amplitude_scores,
    correlation_at_shift,
    correlation_scores,
)
from jimnet.align.search import AlignParams, preprocess
from jimnet.align.wedge import WedgeSet
from jimnet.fourier import fourier_shift
from jimnet.geometry import random_rotations
from tests.align.helpers import make_blob, wedge_filter

N = 20


def _prep(src, tgt, ws=None, wt=None, params=None):
    params = params or AlignParams()
    return PreparedPairs.build(preprocess(src[None], params), preprocess(tgt[None], params),
                               WedgeSet.build([ws], N), WedgeSet.build([wt], N))


def test_identity_scores_one_and_subvoxel_shift_is_found():
    vol = make_blob(N, 1)
    shift = torch.tensor([1.3, -2.6, 0.4])
    tgt = fourier_shift(vol, shift)
    prep = _prep(vol, tgt, params=AlignParams(mask_radius=0))
    level = prep.level(N, 1.0, 7.0, None)
    eye = torch.eye(3)[None, None]
    score, found = correlation_scores(prep, level, eye)
    torch.testing.assert_close(found[0, 0], shift, atol=0.15, rtol=0)
    assert 0.97 < float(score) <= 1.001
    at = correlation_at_shift(prep, level, eye, shift[None])
    assert abs(float(at) - float(score)) < 0.02


def test_max_shift_restricts_search():
    vol = make_blob(N, 2)
    tgt = fourier_shift(vol, torch.tensor([0.0, 0.0, 5.0]))
    prep = _prep(vol, tgt, params=AlignParams(mask_radius=0))
    _, free = correlation_scores(prep, prep.level(N, 1.0, 7.0, None), torch.eye(3)[None, None])
    _, capped = correlation_scores(prep, prep.level(N, 1.0, 7.0, 2.5), torch.eye(3)[None, None])
    assert abs(float(free[0, 0, 2]) - 5.0) < 0.3
    assert float(capped[0, 0].norm()) <= 2.5 + 1e-4


def test_scores_bounded_and_amplitude_translation_invariant():
    vol = make_blob(N, 3)
    tilt = (-50.0, 50.0)
    src = wedge_filter(vol, tilt)
    tgt = wedge_filter(fourier_shift(vol, torch.tensor([2.0, 1.0, -3.0])), tilt)
    rots = torch.as_tensor(random_rotations(20, 0), dtype=torch.float32)[None]
    rots = torch.cat([torch.eye(3)[None, None], rots], 1)
    prep = _prep(src, tgt, tilt, tilt, AlignParams(mask_radius=0))
    level = prep.level(12, 1.0, 5.0, None)
    score, _ = correlation_scores(prep, level, rots)
    amp = amplitude_scores(prep, level, rots)
    assert float(score.max()) <= 1.0 + 1e-4 and float(amp.max()) <= 1.0 + 1e-4
    assert int(score.argmax()) == 0 and int(amp.argmax()) == 0
    assert float(amp[0, 0]) > 0.98  # shift does not change amplitudes


def test_mask_tensor_wedge_matches_analytic_wedge():
    from jimnet.fourier import wedge_mask

    vol = make_blob(N, 4)
    tilt = (-40.0, 55.0)
    mask = wedge_mask((N, N, N), *tilt, sphere=False)
    rots = torch.as_tensor(random_rotations(6, 2), dtype=torch.float32)[None]
    params = AlignParams(mask_radius=0)
    tgt = wedge_filter(vol, tilt)
    analytic = _prep(tgt, tgt, tilt, tilt, params)
    tensor = _prep(tgt, tgt, mask, mask, params)
    a, _ = correlation_scores(analytic, analytic.level(12, 1.0, 5.0, None), rots)
    b, _ = correlation_scores(tensor, tensor.level(12, 1.0, 5.0, None), rots)
    torch.testing.assert_close(a, b, atol=0.05, rtol=0)  # mask edges are interpolated
