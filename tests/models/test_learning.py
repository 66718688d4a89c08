"""The default network learns in-basin pairs, and its eval mode is the network that was trained."""

import numpy as np
import torch

from jimnet.geometry import rotation_error_frobenius
from jimnet.losses import jimnet_3d_loss
from jimnet.models import JimNet3D, warp
from jimnet.models.batchnorm import batchnorm_layers, recalibrate_batchnorm
from jimnet.models.jimnet3d import PAPER_FAITHFUL
from jimnet.train.curriculum import residual_poses

from .conftest import smooth_volume


def _in_basin_pairs(n: int, seed: int = 0):
    """``n`` smooth volumes and copies re-posed by 12–30° and 2 voxels (inside the loss basin)."""
    rng = np.random.default_rng(seed)
    src = torch.stack([torch.from_numpy(smooth_volume(32, seed=seed + i)).float()
                       for i in range(n)])
    poses = [residual_poses(1, a, 2.0, rng, exact=True) for a in rng.uniform(12, 30, size=n)]
    rot = np.concatenate([p[0] for p in poses])
    shift = np.concatenate([p[1] for p in poses])
    tgt = warp(src, torch.from_numpy(rot).float(), torch.from_numpy(shift).float())
    return src, tgt, rot, shift


def _step(model, opt, src, tgt):
    model.train()
    out = model(src, tgt)
    loss, _ = jimnet_3d_loss(out.output, tgt, coarse_output=out.coarse_output,
                             fine_rotation=out.fine.rotation, fine_shift=out.fine.shift_normalised)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _eval_error(model, src, tgt, rot):
    model.eval()
    with torch.no_grad():
        pred, _ = model(src, tgt).pose_numpy()
    return float(rotation_error_frobenius(rot, pred).mean())


def test_eight_in_basin_pairs_are_learned_in_eval_mode():
    torch.manual_seed(0)
    src, tgt, rot, _ = _in_basin_pairs(8)
    model = JimNet3D(width=0.03, n_clusters=2)
    opt = torch.optim.NAdam(model.parameters(), lr=1e-3, eps=1e-7)
    start = _eval_error(model, src, tgt, rot)
    assert start > 0.35  # the identity start is not already aligned
    errors = []
    for step in range(1, 201):
        _step(model, opt, src, tgt)
        if step % 10 == 0:
            recalibrate_batchnorm(model, [lambda m: m(src, tgt)])
            errors.append(_eval_error(model, src, tgt, rot))
            if errors[-1] <= 0.2:
                break
    assert errors[-1] <= 0.2, (start, errors)


def _train_vs_eval(model, src, tgt):
    model.train()
    with torch.no_grad():
        train_rot, train_shift = model(src, tgt).pose_numpy()
    model.eval()
    with torch.no_grad():
        eval_rot, eval_shift = model(src, tgt).pose_numpy()
    return (float(np.abs(train_rot - eval_rot).max()),
            float(np.abs(train_shift - eval_shift).max()))


def test_batchnorm_eval_agrees_with_train_after_recalibration():
    torch.manual_seed(0)
    src, tgt, _, _ = _in_basin_pairs(4, seed=10)
    model = JimNet3D(width=0.03, n_clusters=2, **PAPER_FAITHFUL)  # Keras momentum 0.01
    opt = torch.optim.NAdam(model.parameters(), lr=1e-3, eps=1e-7)
    for _ in range(5):
        _step(model, opt, src, tgt)
    before = _train_vs_eval(model, src, tgt)
    momenta = [m.momentum for m in batchnorm_layers(model)]
    weights = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k}
    assert recalibrate_batchnorm(model, [lambda m: m(src, tgt)]) == 1
    after = _train_vs_eval(model, src, tgt)
    # What remains is the unbiased (n − 1) variance of running statistics on tiny maps.
    assert after[0] < 1e-2 and after[1] < 5e-2, (before, after)
    assert before[0] > 10 * after[0]  # the stale statistics were a different network
    assert [m.momentum for m in batchnorm_layers(model)] == momenta
    for k, v in weights.items():
        if "num_batches_tracked" not in k:
            torch.testing.assert_close(model.state_dict()[k], v, msg=k)
    assert model.training is False
