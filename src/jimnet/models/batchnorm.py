"""BatchNorm statistics that agree with the weights: recalibration by a cumulative pass.

With a small momentum (Keras' 0.01) the running statistics of a network trained for a few hundred
steps still describe its initial weights, so eval mode (the feature pass, ``predict``) runs a
different network from the one trained. Recalibration resets every BatchNorm's running
statistics and re-estimates them as the exact (cumulative, ``momentum=None``) average over a few
batches of forward passes in train mode with the current weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer of ``model`` (tracking running statistics)."""
    return [m for m in model.modules() if isinstance(m, _BN) and m.track_running_stats]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable[Callable[[nn.Module], object]]
                          ) -> int:
    """Re-estimate every BatchNorm's running mean/variance with the current weights.

    Parameters
    ----------
    model : torch.nn.Module
        Its mode (train/eval) is restored afterwards; weights are not changed.
    batches : iterable of callables
        Each ``f(model)`` runs one forward pass (e.g. ``lambda m: m(src, tgt)``); every batch
        weighs equally (PyTorch's cumulative averaging with ``momentum=None``).

    Returns
    -------
    int
        Number of batches used (0 leaves the statistics reset to mean 0, variance 1).
    """
    layers = batchnorm_layers(model)
    momenta = [m.momentum for m in layers]
    was_training = model.training
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    n = 0
    try:
        for run in batches:
            run(model)
            n += 1
    finally:
        for m, mom in zip(layers, momenta, strict=True):
            m.momentum = mom
        model.train(was_training)
    return n
