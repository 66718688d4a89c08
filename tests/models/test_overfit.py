"""A tiny Jim-Net trained on one noiseless pair: the loss drops and the pose moves to the truth."""

import numpy as np
import torch

from jimnet.geometry import aitom_euler_to_matrix, geodesic_angle_deg
from jimnet.losses import alignment_loss
from jimnet.models import JimNet3D, warp

from .conftest import smooth_volume


def test_tiny_jimnet_overfits_one_pair():
    torch.manual_seed(0)
    source = torch.from_numpy(smooth_volume(32, seed=1)).float()[None]
    rot_true = aitom_euler_to_matrix(torch.tensor([[0.35, 0.25, -0.2]]))  # ≈ 17° from identity
    shift_true = torch.tensor([[2.0, -1.5, 1.0]])
    target = warp(source, rot_true, shift_true)
    s, t = source.repeat(2, 1, 1, 1), target.repeat(2, 1, 1, 1)  # batch 2 for BatchNorm

    model = JimNet3D(width=0.0625, coarse_init="identity")
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)

    def errors(out):
        rot = out.rotation[0].detach().double().numpy()
        angle = float(geodesic_angle_deg(rot_true[0].double().numpy(), rot))
        return angle, float((out.shift[0].detach() - shift_true[0]).norm())

    history = []
    for _ in range(15):
        out = model(s, t, source_tilt=(-60.0, 60.0))
        loss = alignment_loss(out.output, t) + alignment_loss(out.coarse_output, t)
        history.append((float(loss.detach()), *errors(out)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = model(s, t, source_tilt=(-60.0, 60.0))
        final = (float(alignment_loss(out.output, t) + alignment_loss(out.coarse_output, t)),
                 *errors(out))
    start = history[0]
    assert np.isfinite(final).all()
    assert final[0] < 0.3 * start[0], (start, final)
    assert final[1] < 0.5 * start[1], (start, final)  # rotation error (degrees)
    assert final[2] < 0.5 * start[2], (start, final)  # shift error (voxels)
