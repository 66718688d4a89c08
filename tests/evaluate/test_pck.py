"""PCK@α with the SCNet procedure against hand-computed values."""

import numpy as np
import torch

from jimnet.evaluate.pck import pair_pck, pck, scnet_rescale, transfer_keypoints


def test_pck_hand_example_with_a_point_on_the_threshold():
    src = np.array([[10.0, 10.0], [50.0, 50.0], [100.0, 100.0], [200.0, 20.0]])
    # distances 0, 28, 28.5, 5 (3-4-5); α = 0.125 → threshold exactly 28 px (exact in binary):
    # the point on the threshold counts as correct
    warped = src + np.array([[0.0, 0.0], [28.0, 0.0], [0.0, 28.5], [3.0, 4.0]])
    assert pck(src, warped, 224.0, 0.125) == 0.75
    assert pck(src, warped, 224.0, 0.1) == 0.5  # threshold 22.4: only 0 and 5
    assert pck(src, warped, 224.0, 0.2) == 1.0


def test_scnet_rescale_and_identity_pair():
    pts = np.array([[1.0, 1.0], [300.0, 150.0]])
    np.testing.assert_allclose(scnet_rescale(pts, (150, 300)), [[224 / 300, 224 / 150],
                                                                 [224.0, 224.0]])
    # the same relative position in two images of different sizes → PCK 1 with the identity
    a = np.array([[30.0, 40.0], [120.0, 90.0]])
    b = a * [2.0, 1.5]
    assert pair_pck(a, b, (100, 150), (150, 300)) == 1.0


def test_transfer_keypoints_by_a_known_shift():
    # the affine maps target → source; a shift of +0.2 (normalised) is 0.1·223 px in a 224 frame
    theta = torch.tensor([[1.0, 0.0, 0.2], [0.0, 1.0, 0.0]])
    out = transfer_keypoints(np.array([[50.0, 60.0]]), theta)
    np.testing.assert_allclose(out, [[50.0 + 0.1 * 223, 60.0]], atol=1e-9)
