"""Gum-Net (Zeng & Xu 2020), exactly as AITom's ``models/Gum_Net.py`` (METHOD.md §2.1).

Siamese trunk (shared weights) on 32³ inputs::

    Conv3D 32 k3 valid → ReLU → BN → SpectralPool(26, 22)      30³ → 26³
    Conv3D 64          → ReLU → BN → SpectralPool(18, 15)      24³ → 18³
    Conv3D 128         → ReLU → BN → SpectralPool(12, 10)      16³ → 12³
    Conv3D 256         → ReLU → BN → SpectralPool(8, 7)        10³ → 8³
    Conv3D 512         → BN (no ReLU) → FeatureL2Norm          6³ × 512

Head: bidirectional global correlation (216 channels on 6³) → L2 norm (no ReLU) → per direction,
own weights, [Conv3D 1024 k3 valid → BN → ReLU] × 2 (2³ × 1024) → flatten (8192) → concat (16384)
→ Dense 2000 → Dense 2000 (both linear) → Dense 6 (W = 0, b ~ U[−0.5, 0.5)) → sigmoid → rigid
STN (:func:`jimnet.transform.rigid_transform`) → missing-wedge imputation.

``width`` scales every channel count and dense size (1.0 = the paper, ≈ 100 M parameters); the
correlation has ``n³`` channels whatever the width.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from jimnet.models._common import (
    check_input,
    config_from_dict,
    conv_bn_relu,
    keras_init_,
    maybe_impute,
    scaled,
)
from jimnet.models.heads import (
    HeadInit,
    RigidParamHead,
    RotationParam,
    params_to_pose,
    voxel_to_normalised_shift,
)
from jimnet.models.imputation import ImputationMode, TiltRange
from jimnet.models.layers import KERAS_BN_EPS, KERAS_BN_MOMENTUM, SpectralPool, feature_l2_norm
from jimnet.models.layers.correlation import global_correlation
from jimnet.models.outputs import AlignmentOutput, StagePose
from jimnet.models.stn import warp


@dataclass
class GumNetConfig:
    """Hyper-parameters of :class:`GumNet` (defaults = the paper/AITom code).

    Attributes
    ----------
    width : float
        Channel/dense-size multiplier (1.0 = paper).
    input_size : int
        Edge of the cubic input.
    trunk_channels : tuple of int
        Output channels of the five trunk convs (before ``width``).
    pool_sizes : tuple of (output, truncation)
        Spectral pooling after trunk convs 1–4.
    head_channels : int
        Channels of the two regressor convs per direction.
    dense_units : int
        Units of the two linear dense layers.
    head_init : {"gumnet", "identity", "default"}
        Last-layer initialisation (default: exact identity; Gum-Net: W = 0, b ~ U[−0.5, 0.5)).
    rotation_param : {"axis_angle", "euler"}
        Pose parameterisation (:mod:`jimnet.models.heads`; Gum-Net: euler).
    max_shift : float, optional
        Shift bound in voxels (default N/4 for axis-angle, N/2 for euler).
    bn_per_branch : bool
        ``True`` gives the source and target trunks separate BatchNorm layers (what the Keras code
        actually builds: its convs are shared, its BN layers are not); ``False`` (default) shares
        them, a fully Siamese trunk as in METHOD.md's table.
    imputation : {"gumnet", "constrained", "none"}
        Imputation variant used when tilt ranges are passed to ``forward``.
    sphere : bool
        Restrict observed masks to the Fourier sphere ``|k| ≤ 0.5``.
    bn_momentum, bn_eps : float
        BatchNorm settings in PyTorch terms (default momentum 0.1; Keras: 0.01, eps 1e-3).
    """

    width: float = 1.0
    input_size: int = 32
    trunk_channels: tuple[int, ...] = (32, 64, 128, 256, 512)
    pool_sizes: tuple[tuple[int, int], ...] = ((26, 22), (18, 15), (12, 10), (8, 7))
    head_channels: int = 1024
    dense_units: int = 2000
    head_init: HeadInit = "identity"
    rotation_param: RotationParam = "axis_angle"
    max_shift: float | None = None
    bn_per_branch: bool = False
    imputation: ImputationMode = "gumnet"
    sphere: bool = True
    bn_momentum: float = 0.1
    bn_eps: float = KERAS_BN_EPS

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GumNetConfig:
        # Checkpoints written before these fields existed used the paper's parameterisation.
        return config_from_dict(cls, {**LEGACY_FIELDS, **data})


#: Overrides that give the paper's Gum-Net (random head bias, sigmoid ZYZ Euler, ±N/2 shifts,
#: Keras BatchNorm momentum).
PAPER_FAITHFUL: dict[str, Any] = {"head_init": "gumnet", "rotation_param": "euler",
                                  "bn_momentum": KERAS_BN_MOMENTUM}
LEGACY_FIELDS: dict[str, Any] = {"rotation_param": "euler"}


class GumNetTrunk(nn.Module):
    """Gum-Net feature extractor; ``forward(x, branch)`` with x (B, 1, N, N, N).

    Returns L2-normalised features (B, C5, n, n, n). ``branch`` selects the BN set when the
    config asks for per-branch BatchNorm (0 = source, 1 = target).
    """

    def __init__(self, cfg: GumNetConfig) -> None:
        super().__init__()
        chans = [scaled(c, cfg.width) for c in cfg.trunk_channels]
        if len(chans) != len(cfg.pool_sizes) + 1:
            raise ValueError("trunk_channels needs one entry more than pool_sizes")
        self.convs = nn.ModuleList()
        in_ch = 1
        for c in chans:
            self.convs.append(nn.Conv3d(in_ch, c, 3))
            in_ch = c
        n_sets = 2 if cfg.bn_per_branch else 1
        self.bns = nn.ModuleList(
            nn.ModuleList(nn.BatchNorm3d(c, momentum=cfg.bn_momentum, eps=cfg.bn_eps)
                          for c in chans)
            for _ in range(n_sets))
        self.pools = nn.ModuleList(SpectralPool(z, y) for z, y in cfg.pool_sizes)
        self.out_channels = chans[-1]
        size = cfg.input_size
        for z, y in cfg.pool_sizes:
            if size - 2 < y:
                raise ValueError(f"input size {cfg.input_size} too small for pool sizes "
                                 f"{cfg.pool_sizes}")
            size = z
        self.out_size = size - 2
        if self.out_size < 5:
            raise ValueError(f"trunk output {self.out_size}³ is too small for the regressor "
                             "(needs ≥ 5)")

    def forward(self, x: torch.Tensor, branch: int = 0) -> torch.Tensor:
        bns = self.bns[branch if len(self.bns) > 1 else 0]
        n_pool = len(self.pools)
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < n_pool:
                x = bns[i](torch.relu(x))  # ReLU before BN, as in Gum-Net
                x = self.pools[i](x)
            else:
                x = bns[i](x)  # no ReLU on the last conv
        return feature_l2_norm(x)


class GumNet(nn.Module):
    """Gum-Net: one-stage rigid alignment with missing-wedge imputation.

    Parameters
    ----------
    config : GumNetConfig, optional
        Defaults to the paper's network; keyword overrides are applied on top
        (``GumNet(width=0.25)``).

    ``forward(source, target, *, source_tilt=None, target_tilt=None)`` takes volumes
    (B, N, N, N) or (B, 1, N, N, N) and returns an :class:`~jimnet.models.AlignmentOutput`.
    ``source_tilt`` / ``target_tilt`` are ``(tilt_min_deg, tilt_max_deg)`` (floats or (B,)
    tensors); without ``source_tilt`` the output is the plain warp (no imputation).
    """

    def __init__(self, config: GumNetConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        cfg = dataclasses.replace(config or GumNetConfig(), **overrides)
        self.config = cfg
        self.trunk = GumNetTrunk(cfg)
        n = self.trunk.out_size
        corr_ch = n ** 3
        hc = scaled(cfg.head_channels, cfg.width)
        kw = {"bn_momentum": cfg.bn_momentum, "bn_eps": cfg.bn_eps}
        self.reg_ab = nn.Sequential(conv_bn_relu(corr_ch, hc, **kw), conv_bn_relu(hc, hc, **kw))
        self.reg_ba = nn.Sequential(conv_bn_relu(corr_ch, hc, **kw), conv_bn_relu(hc, hc, **kw))
        flat = hc * (n - 4) ** 3
        du = scaled(cfg.dense_units, cfg.width)
        self.dense = nn.Sequential(nn.Linear(2 * flat, du), nn.Linear(du, du))  # linear, as Gum-Net
        self.head = RigidParamHead(du, init=cfg.head_init, rotation_param=cfg.rotation_param)
        keras_init_(self)

    def forward(self, source: torch.Tensor, target: torch.Tensor, *,
                source_tilt: TiltRange | None = None,
                target_tilt: TiltRange | None = None) -> AlignmentOutput:
        cfg = self.config
        s, t = check_input(source, target, cfg.input_size)
        fa = self.trunk(s[:, None], 0)
        fb = self.trunk(t[:, None], 1)
        c_ab = feature_l2_norm(global_correlation(fa, fb))
        c_ba = feature_l2_norm(global_correlation(fb, fa))
        h = torch.cat([self.reg_ab(c_ab).flatten(1), self.reg_ba(c_ba).flatten(1)], dim=1)
        params = self.head(self.dense(h))
        shape = tuple(s.shape[-3:])
        rotation, shift = params_to_pose(params, shape, cfg.rotation_param, cfg.max_shift)
        warped = warp(s, rotation, shift)
        output = maybe_impute(warped, t, rotation, source_tilt, target_tilt, cfg.imputation,
                              cfg.sphere)
        stage = StagePose(params, rotation, shift, voxel_to_normalised_shift(shift, shape))
        return AlignmentOutput(rotation=rotation, shift=shift, output=output, warped=warped,
                               stages=(stage,))
