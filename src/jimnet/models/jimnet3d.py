"""Jim-Net 3D: shared SDC/spectral-pooling extractors, coarse (global correlation) and fine (local
correlation) rigid stages, composed pose, missing-wedge imputation and the cluster head M_CP.

Layer plan for 32³ inputs at ``width = 1`` (METHOD.md §2.3–2.6, recommended choices of §11)::

    FE1 (coarse, Siamese):  SDC-Valid 16×{1,2}→32   28³   tap 1
                            SpectralPool(21, 18)     21³
                            SDC-Valid 32×{1,2}→64   17³   tap 2
                            SpectralPool(13, 11)     13³
                            SDC-Valid 64×{1,2}→128   9³   tap 3
                            SpectralPool(7, 6)        7³
                            SDC-Same 128×{1,2}→256   7³   tap 4
                            Conv 1³ 256 → BN → L2     7³ × 256
    coarse regressor:       global correlation both ways (343 ch on 7³) → L2 (no ReLU);
                            per direction [Conv 512 k3 valid → BN → ReLU] × 2 → 3³ × 512;
                            concat → Dense 1024 → Dense 1024 (linear) → Dense 6 → sigmoid
    FE3 (fine, Siamese):    SDC-Same 16×{1,2}→32 32³ → SP(27, 23) → SDC-Same 32→64 27³
                            → SP(23, 20) → SDC-Same 64→128 23³ → SP(20, 17) → Conv 1³ 128 → BN → L2
    fine regressor:         local correlation r=1 (27 ch on 20³) → ReLU → L2;
                            Conv 64 k3 valid → BN → ReLU 18³ → SP(9, 8) → Conv 128 → 7³
                            → Conv 128 → 5³ → flatten → Dense 512 + ReLU → Dense 6 (W=0, b=0)
    M_CP (on FE1(source)):  per tap Conv 64 k3 same → ELU → BN → global max pool;
                            concat (256) → BN → FC 128 + ELU (GMM features) → FC K (logits)

Spectral pool sizes follow the supplement's rule (output ``round(0.75·n)`` coarse,
``round(0.85·n)`` fine, truncation ``round(0.85·output)``), which reproduces the table above for
32³ and adapts to other input sizes. The fine stage sees ``G¹ = T¹(source)`` (plain warp, no
imputation); the final output warps the *original* source once by ``T = T² ∘ T¹``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from jimnet.geometry import compose_poses
from jimnet.models._common import (
    check_input,
    config_from_dict,
    conv_bn_relu,
    keras_init_,
    maybe_impute,
    round_half_up,
    scaled,
)
from jimnet.models.heads import (
    HeadInit,
    RigidParamHead,
    RotationParam,
    params_to_pose,
    shift_bound,
    voxel_to_normalised_shift,
)
from jimnet.models.imputation import ImputationMode, TiltRange
from jimnet.models.layers import (
    KERAS_BN_EPS,
    KERAS_BN_MOMENTUM,
    GlobalCorrelation,
    LocalCorrelation,
    SDCBlock,
    SpectralPool,
    feature_l2_norm,
)
from jimnet.models.layers.correlation import Normalization
from jimnet.models.outputs import AlignmentOutput, StagePose
from jimnet.models.stn import warp


@dataclass
class JimNet3DConfig:
    """Hyper-parameters of :class:`JimNet3D` (defaults = METHOD.md's recommended choices).

    Attributes
    ----------
    width : float
        Multiplier of every channel count and dense size (1.0 = the proposed full size).
    n_clusters : int
        Number of clusters ``K`` predicted by M_CP.
    input_size : int
        Edge of the cubic input (32 in the paper; ≥ 30 or so for this layer plan).
    dilations : tuple of int
        Dilation rates of every SDC block.
    coarse_pool_ratio, fine_pool_ratio, truncation_ratio : float
        Spectral pooling rule (0.75 / 0.85 of the edge; truncation 0.85 of the output edge).
    fe1_filters : tuple of int
        Filters per branch of FE1's SDC blocks (the last block is "same" without pooling after
        it, the others "valid", each followed by spectral pooling).
    fe1_descriptor : int
        Channels of FE1's final 1×1×1 conv descriptor.
    fe3_filters : tuple of int
        Filters per branch of FE3's SDC-Same blocks (each followed by spectral pooling).
    fe3_descriptor : int
        Channels of FE3's descriptor.
    coarse_channels, coarse_dense : int
        Coarse regressor conv channels and dense units.
    coarse_dense_activation : bool
        ReLU between the coarse dense layers (``False`` = linear, as Gum-Net).
    fine_channels : tuple of int
        The fine regressor's three conv widths.
    fine_dense : int
        Fine regressor hidden dense units (followed by ReLU).
    local_radius : int
        Local-correlation radius.
    coarse_correlation_norm, fine_correlation_norm : {"l2", "relu_l2", "none"}
        Normalisation after the correlations.
    coarse_bidirectional : bool
        Use both correlation directions in the coarse stage (Gum-Net does).
    coarse_init, fine_init : {"gumnet", "identity", "default"}
        Pose-head initialisation (default: both exactly the identity; the paper: Gum-Net's
        random bias for the coarse stage).
    rotation_param : {"axis_angle", "euler"}
        Pose parameterisation of both stages (:mod:`jimnet.models.heads`): bounded axis-angle
        and tanh shifts (default), or the paper's sigmoid ZYZ Euler angles and ±N/2 shifts.
    max_shift : float, optional
        Coarse-stage shift bound in voxels (default N/4 for axis-angle, N/2 for euler).
    fine_max_shift : float, optional
        Fine-stage shift bound (default half the coarse bound for axis-angle, N/2 for euler).
    mcp_tap_channels, mcp_features : int
        M_CP per-tap conv width and penultimate (GMM feature) size.
    imputation : {"gumnet", "constrained", "none"}
        Imputation variant used when tilt ranges are passed to ``forward``.
    sphere : bool
        Restrict observed masks to ``|k| ≤ 0.5`` cycles/voxel.
    bn_momentum, bn_eps : float
        BatchNorm settings in PyTorch terms (default momentum 0.1; the paper's Keras
        momentum 0.01 leaves eval-mode statistics far behind a short run's weights).
    """

    width: float = 1.0
    n_clusters: int = 5
    input_size: int = 32
    dilations: tuple[int, ...] = (1, 2)
    coarse_pool_ratio: float = 0.75
    fine_pool_ratio: float = 0.85
    truncation_ratio: float = 0.85
    fe1_filters: tuple[int, ...] = (16, 32, 64, 128)
    fe1_descriptor: int = 256
    fe3_filters: tuple[int, ...] = (16, 32, 64)
    fe3_descriptor: int = 128
    coarse_channels: int = 512
    coarse_dense: int = 1024
    coarse_dense_activation: bool = False
    fine_channels: tuple[int, ...] = (64, 128, 128)
    fine_dense: int = 512
    local_radius: int = 1
    coarse_correlation_norm: Normalization = "l2"
    fine_correlation_norm: Normalization = "relu_l2"
    coarse_bidirectional: bool = True
    coarse_init: HeadInit = "identity"
    fine_init: HeadInit = "identity"
    rotation_param: RotationParam = "axis_angle"
    max_shift: float | None = None
    fine_max_shift: float | None = None
    mcp_tap_channels: int = 64
    mcp_features: int = 128
    imputation: ImputationMode = "gumnet"
    sphere: bool = True
    bn_momentum: float = 0.1
    bn_eps: float = KERAS_BN_EPS

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JimNet3DConfig:
        # Checkpoints written before these fields existed used the paper's parameterisation.
        return config_from_dict(cls, {**LEGACY_FIELDS, **data})

    def stage_shift_bounds(self) -> tuple[float, float]:
        """Shift bounds (voxels) of the coarse and fine stages."""
        shape = (self.input_size,) * 3
        coarse = float(shift_bound(shape, self.rotation_param, self.max_shift)[0])
        if self.fine_max_shift is not None or self.rotation_param == "euler":
            return coarse, float(shift_bound(shape, self.rotation_param,
                                             self.fine_max_shift)[0])
        return coarse, coarse / 2.0


#: Overrides that give the paper's network (Gum-Net coarse init, ZYZ Euler + sigmoid heads with
#: ±N/2 shifts, Keras BatchNorm momentum).
PAPER_FAITHFUL: dict[str, Any] = {"coarse_init": "gumnet", "rotation_param": "euler",
                                  "bn_momentum": KERAS_BN_MOMENTUM}
LEGACY_FIELDS: dict[str, Any] = {"rotation_param": "euler"}


def _pool_sizes(size: int, ratio: float, trunc_ratio: float) -> tuple[int, int]:
    out = max(1, round_half_up(ratio * size))
    return out, max(1, min(out, size, round_half_up(trunc_ratio * out)))


class FeatureExtractor(nn.Module):
    """SDC blocks alternating with spectral pooling, then a 1×1×1 conv → BN → L2 descriptor.

    ``forward(x)`` with x (B, C_in, N, N, N) returns ``(descriptor, taps)``: the L2-normalised
    descriptor (B, C, n, n, n) and the list of every SDC block's output (the M_CP taps).

    Parameters
    ----------
    filters : sequence of int
        Filters per branch for each SDC block (already width-scaled).
    paddings : sequence of {"same", "valid"}
        Padding of each block.
    pool_after : sequence of bool
        Whether a spectral pooling layer follows each block.
    pool_ratio : float
        Spectral pooling output edge = ``round(pool_ratio · n)``.
    """

    def __init__(self, input_size: int, filters: tuple[int, ...], paddings: tuple[str, ...],
                 pool_after: tuple[bool, ...], descriptor: int, *, dilations: tuple[int, ...],
                 pool_ratio: float, trunc_ratio: float, bn_momentum: float,
                 bn_eps: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        self.pools = nn.ModuleList()
        self.pool_sizes: list[tuple[int, int]] = []
        size, in_ch = input_size, 1
        for f, pad, pool in zip(filters, paddings, pool_after, strict=True):
            block = SDCBlock(in_ch, f, dilations, pad, bn_momentum=bn_momentum, bn_eps=bn_eps)
            self.blocks.append(block)
            size, in_ch = block.output_size(size), block.out_channels
            if size < 1:
                raise ValueError(f"input size {input_size} is too small for this extractor")
            if pool:
                z, y = _pool_sizes(size, pool_ratio, trunc_ratio)
                self.pools.append(SpectralPool(z, y))
                self.pool_sizes.append((z, y))
                size = z
            else:
                self.pools.append(nn.Identity())
        self.tap_channels = [b.out_channels for b in self.blocks]
        self.descriptor = nn.Sequential(
            nn.Conv3d(in_ch, descriptor, 1),
            nn.BatchNorm3d(descriptor, momentum=bn_momentum, eps=bn_eps))
        self.out_channels = descriptor
        self.out_size = size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        taps = []
        for block, pool in zip(self.blocks, self.pools, strict=True):
            x = block(x)
            taps.append(x)
            x = pool(x)
        return feature_l2_norm(self.descriptor(x)), taps


class ClusterHead(nn.Module):
    """M_CP: per-tap Conv k3 same → ELU → BN → global max pool; concat → BN → FC + ELU
    (penultimate features for the GMM) → FC to ``n_clusters`` logits.

    ``forward(taps)`` returns ``(logits (B, K), features (B, F))``.
    """

    def __init__(self, tap_channels: list[int], tap_width: int, n_features: int,
                 n_clusters: int, *, bn_momentum: float, bn_eps: float) -> None:
        super().__init__()
        self.taps = nn.ModuleList(
            nn.Sequential(nn.Conv3d(c, tap_width, 3, padding=1), nn.ELU(),
                          nn.BatchNorm3d(tap_width, momentum=bn_momentum, eps=bn_eps))
            for c in tap_channels)
        concat = tap_width * len(tap_channels)
        self.norm = nn.BatchNorm1d(concat, momentum=bn_momentum, eps=bn_eps)
        self.fc1 = nn.Linear(concat, n_features)
        self.act = nn.ELU()
        self.fc2 = nn.Linear(n_features, n_clusters)

    def forward(self, taps: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = [torch.amax(m(x), dim=(-3, -2, -1)) for m, x in zip(self.taps, taps, strict=True)]
        features = self.act(self.fc1(self.norm(torch.cat(pooled, dim=1))))
        return self.fc2(features), features


class CoarseRegressor(nn.Module):
    """Bidirectional global correlation → conv stacks → dense → 6 sigmoid parameters."""

    def __init__(self, grid: int, cfg: JimNet3DConfig) -> None:
        super().__init__()
        if grid < 5:
            raise ValueError(f"coarse feature grid {grid}³ is too small (needs ≥ 5)")
        self.correlation = GlobalCorrelation(cfg.coarse_correlation_norm)
        self.bidirectional = cfg.coarse_bidirectional
        ch = scaled(cfg.coarse_channels, cfg.width)
        kw = {"bn_momentum": cfg.bn_momentum, "bn_eps": cfg.bn_eps}
        n_dir = 2 if self.bidirectional else 1
        self.convs = nn.ModuleList(
            nn.Sequential(conv_bn_relu(grid ** 3, ch, **kw), conv_bn_relu(ch, ch, **kw))
            for _ in range(n_dir))
        flat = n_dir * ch * (grid - 4) ** 3
        du = scaled(cfg.coarse_dense, cfg.width)
        act: list[nn.Module] = [nn.ReLU()] if cfg.coarse_dense_activation else []
        self.dense = nn.Sequential(nn.Linear(flat, du), *act, nn.Linear(du, du), *act)
        self.head = RigidParamHead(du, init=cfg.coarse_init, rotation_param=cfg.rotation_param)

    def forward(self, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
        feats = [self.convs[0](self.correlation(fa, fb)).flatten(1)]
        if self.bidirectional:
            feats.append(self.convs[1](self.correlation(fb, fa)).flatten(1))
        return self.head(self.dense(torch.cat(feats, dim=1)))


class FineRegressor(nn.Module):
    """Local correlation → conv → spectral pool → conv × 2 → dense → 6 sigmoid parameters."""

    def __init__(self, grid: int, cfg: JimNet3DConfig) -> None:
        super().__init__()
        self.correlation = LocalCorrelation(cfg.local_radius, cfg.fine_correlation_norm)
        c1, c2, c3 = (scaled(c, cfg.width) for c in cfg.fine_channels)
        kw = {"bn_momentum": cfg.bn_momentum, "bn_eps": cfg.bn_eps}
        n_corr = (2 * cfg.local_radius + 1) ** 3
        size = grid - 2
        out = max(1, size // 2)
        trunc = max(1, min(out, round_half_up(cfg.truncation_ratio * out)))
        self.pool_size = (out, trunc)
        final = out - 4
        if final < 1:
            raise ValueError(f"fine feature grid {grid}³ is too small")
        self.convs = nn.Sequential(conv_bn_relu(n_corr, c1, **kw), SpectralPool(out, trunc),
                                   conv_bn_relu(c1, c2, **kw), conv_bn_relu(c2, c3, **kw))
        du = scaled(cfg.fine_dense, cfg.width)
        self.dense = nn.Sequential(nn.Linear(c3 * final ** 3, du), nn.ReLU())
        self.head = RigidParamHead(du, init=cfg.fine_init, rotation_param=cfg.rotation_param)

    def forward(self, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
        return self.head(self.dense(self.convs(self.correlation(fa, fb)).flatten(1)))


class JimNet3D(nn.Module):
    """Jim-Net for 3D subtomograms: coarse-to-fine rigid alignment + cluster prediction.

    Parameters
    ----------
    config : JimNet3DConfig, optional
        Defaults to the recommended full-size network; keyword overrides are applied on top
        (``JimNet3D(width=0.25, n_clusters=5)``).

    ``forward(source, target, *, source_tilt=None, target_tilt=None)`` takes volumes
    (B, N, N, N) or (B, 1, N, N, N) and returns an :class:`~jimnet.models.AlignmentOutput` with
    the composed pose, the imputed output, both stages, the imputed coarse output, the cluster
    logits and the GMM features of the *source*. Tilt ranges are
    ``(tilt_min_deg, tilt_max_deg)`` (floats or (B,) tensors); without ``source_tilt`` no
    imputation is done.
    """

    def __init__(self, config: JimNet3DConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        cfg = dataclasses.replace(config or JimNet3DConfig(), **overrides)
        self.config = cfg
        w = cfg.width
        bn = {"bn_momentum": cfg.bn_momentum, "bn_eps": cfg.bn_eps}
        n1 = len(cfg.fe1_filters)
        self.fe1 = FeatureExtractor(
            cfg.input_size, tuple(scaled(f, w) for f in cfg.fe1_filters),
            ("valid",) * (n1 - 1) + ("same",), (True,) * (n1 - 1) + (False,),
            scaled(cfg.fe1_descriptor, w),
            dilations=cfg.dilations, pool_ratio=cfg.coarse_pool_ratio,
            trunc_ratio=cfg.truncation_ratio, **bn)
        self.fe3 = FeatureExtractor(
            cfg.input_size, tuple(scaled(f, w) for f in cfg.fe3_filters),
            ("same",) * len(cfg.fe3_filters), (True,) * len(cfg.fe3_filters),
            scaled(cfg.fe3_descriptor, w),
            dilations=cfg.dilations, pool_ratio=cfg.fine_pool_ratio,
            trunc_ratio=cfg.truncation_ratio, **bn)
        self.coarse = CoarseRegressor(self.fe1.out_size, cfg)
        self.fine = FineRegressor(self.fe3.out_size, cfg)
        self.cluster_head = ClusterHead(self.fe1.tap_channels, scaled(cfg.mcp_tap_channels, w),
                                        scaled(cfg.mcp_features, w), cfg.n_clusters, **bn)
        keras_init_(self)

    def classify(self, volume: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """M_CP on single volumes (the clustering feature pass; no partner needed).

        Parameters
        ----------
        volume : torch.Tensor, shape (B, N, N, N) or (B, 1, N, N, N)

        Returns
        -------
        (logits (B, K), features (B, F))
        """
        v, _ = check_input(volume, volume, self.config.input_size)
        _, taps = self.fe1(v[:, None])
        return self.cluster_head(taps)

    def forward(self, source: torch.Tensor, target: torch.Tensor, *,
                source_tilt: TiltRange | None = None,
                target_tilt: TiltRange | None = None) -> AlignmentOutput:
        cfg = self.config
        s, t = check_input(source, target, cfg.input_size)
        shape = tuple(s.shape[-3:])

        # Coarse stage (FE1 on both; M_CP reads FE1's taps of the source only).
        fs1, taps = self.fe1(s[:, None])
        ft1, _ = self.fe1(t[:, None])
        bound1, bound2 = cfg.stage_shift_bounds()
        p1 = self.coarse(fs1, ft1)
        r1, t1 = params_to_pose(p1, shape, cfg.rotation_param, bound1)
        g1 = warp(s, r1, t1)
        coarse_output = maybe_impute(g1, t, r1, source_tilt, target_tilt, cfg.imputation,
                                     cfg.sphere)

        # Fine stage on the coarse-aligned source (no imputation: no target data leak).
        fs3, _ = self.fe3(g1[:, None])
        ft3, _ = self.fe3(t[:, None])
        p2 = self.fine(fs3, ft3)
        r2, t2 = params_to_pose(p2, shape, cfg.rotation_param, bound2)

        # Compose T = T2 ∘ T1 and warp the original source once.
        rotation, shift = compose_poses(r2, t2, r1, t1)
        warped = warp(s, rotation, shift)
        output = maybe_impute(warped, t, rotation, source_tilt, target_tilt, cfg.imputation,
                              cfg.sphere)
        logits, features = self.cluster_head(taps)
        stages = (StagePose(p1, r1, t1, voxel_to_normalised_shift(t1, shape)),
                  StagePose(p2, r2, t2, voxel_to_normalised_shift(t2, shape)))
        return AlignmentOutput(rotation=rotation, shift=shift, output=output, warped=warped,
                               stages=stages, coarse_output=coarse_output,
                               cluster_logits=logits, features=features)
