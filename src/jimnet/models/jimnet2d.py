"""Jim-Net 2D (METHOD.md §1.1, §3.2, §7.3): one Siamese trunk, a coarse affine stage on the global
correlation, a fine thin-plate-spline stage (3 × 3 control grid) on the local correlation of the
affine-warped source, and the cluster-predicting module M_CP.

Forward pass for a (source, target) pair of images (B, 3, H, W), ImageNet-normalised:

1. ``f_s, f_t`` = L2-normalised trunk features (B, C, h, w) (15 × 15 for 240² inputs);
2. ``corr`` = ReLU + L2-normalised :func:`~jimnet.models.layers.global_correlation` of
   ``(f_s, f_t)`` (channels = source positions) → affine regressor → ``theta_aff`` (B, 2, 3);
3. the source warped by ``theta_aff`` → trunk → local correlation (radius ``local_radius``) with
   ``f_t`` → TPS regressor → ``theta_tps`` (B, 18); the final warp is ``A∘T``
   (:mod:`jimnet.transform.warp2d`);
4. M_CP: global max pooling of the *source's own* trunk features, taken before the per-position
   L2 normalisation (which only the matching layers need, and which discards the feature
   magnitudes that carry appearance) → FC + ReLU (the GMM features) → FC to ``K`` logits.
   (The authors' code also feeds the stage-1-warped source to the classifier,
   which leaks the partner image into the cluster features; METHOD.md §5.4 — not done here.)

Both regressors start at the identity (last layer zero, bias = identity parameters).

Backbones: ``"small"`` — a 5-layer CNN (stride 16) trained from scratch, runs on a CPU;
``"resnet101"`` — torchvision's ResNet-101 cropped after ``layer3`` (1024 channels, stride 16),
ImageNet weights loaded from a user file (``backbone_weights``; torchvision is an optional extra).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from jimnet.models._common import config_from_dict, scaled
from jimnet.models.layers import GlobalCorrelation, LocalCorrelation, feature_l2_norm
from jimnet.transform.warp2d import identity_tps, transform_grid, warp_image

Backbone = Literal["small", "resnet101"]

#: ImageNet mean and std (RGB), the normalisation of both backbones' inputs.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class JimNet2DConfig:
    """Hyper-parameters of :class:`JimNet2D`.

    Attributes
    ----------
    backbone : {"small", "resnet101"}
        Feature trunk (see the module docstring).
    width : float
        Channel multiplier of the small trunk and of both regressors (1.0 = Rocco et al.'s
        regressor: conv 128 k7 → conv 64 k5).
    n_clusters : int
        ``K`` of M_CP.
    input_size : int
        Square input edge in pixels (240 as the paper); the feature grid is ``input_size // 16``.
    tps_grid : int
        TPS control grid edge (3 → 18 parameters).
    local_radius : int
        Local-correlation radius of the fine stage (1 → 9 channels).
    mcp_features : int
        M_CP penultimate size (the GMM features).
    backbone_weights : str
        Path of a torchvision ResNet-101 ``state_dict`` (ImageNet); "" = random initialisation.
    """

    backbone: Backbone = "small"
    width: float = 0.5
    n_clusters: int = 5
    input_size: int = 240
    tps_grid: int = 3
    local_radius: int = 1
    mcp_features: int = 64
    backbone_weights: str = ""

    def to_dict(self) -> dict[str, Any]:
        # The trunk's weights travel in the checkpoint's state dict, so a saved model never
        # depends on the weights file still being there.
        return {**dataclasses.asdict(self), "backbone_weights": ""}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JimNet2DConfig:
        return config_from_dict(cls, data)

    @property
    def feature_size(self) -> int:
        return self.input_size // 16


def _conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


class SmallTrunk(nn.Module):
    """A stride-16 CNN: conv s2 → conv s2 → conv + maxpool → conv + maxpool → conv."""

    def __init__(self, width: float) -> None:
        super().__init__()
        c = [scaled(n, width) for n in (32, 64, 64, 128)]
        self.out_channels = c[3]
        self.net = nn.Sequential(*_conv(3, c[0], 2), *_conv(c[0], c[1], 2), *_conv(c[1], c[2]),
                                 nn.MaxPool2d(2), *_conv(c[2], c[3]), nn.MaxPool2d(2),
                                 nn.Conv2d(c[3], c[3], 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def resnet101_trunk(weights: str) -> tuple[nn.Module, int]:
    """torchvision ResNet-101 up to ``layer3`` (1024 channels, stride 16); weights from a file."""
    try:
        import torchvision
    except Exception as exc:  # ImportError, or a build that does not match this torch
        raise ImportError(f"the resnet101 backbone needs torchvision built for torch "
                          f"{torch.__version__} (pip install 'jimnet[resnet]' or the matching "
                          f"build from pytorch.org); import failed: {exc}") from exc
    net = torchvision.models.resnet101(weights=None)
    if weights:
        state = torch.load(Path(weights), map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    trunk = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2,
                          net.layer3)
    return trunk, 1024


class Regressor(nn.Module):
    """Rocco et al. (2017)'s regression CNN: conv k7 → BN → ReLU → conv k5 → BN → ReLU → linear,
    initialised to output ``identity`` (zero last weights)."""

    def __init__(self, in_channels: int, grid: int, identity: torch.Tensor, width: float) -> None:
        super().__init__()
        c1, c2 = scaled(128, width), scaled(64, width)
        k1, k2 = min(7, grid - 4), 5
        self.conv = nn.Sequential(nn.Conv2d(in_channels, c1, k1), nn.BatchNorm2d(c1),
                                  nn.ReLU(inplace=True), nn.Conv2d(c1, c2, k2),
                                  nn.BatchNorm2d(c2), nn.ReLU(inplace=True))
        side = grid - k1 - k2 + 2
        self.linear = nn.Linear(c2 * side * side, identity.numel())
        nn.init.zeros_(self.linear.weight)
        with torch.no_grad():
            self.linear.bias.copy_(identity.reshape(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.conv(x).flatten(1))


@dataclass
class JimNet2DOutput:
    """What :meth:`JimNet2D.forward` returns.

    Attributes
    ----------
    theta_aff : (B, 2, 3) affine, target → source (normalised xy)
    theta_tps : (B, 2·g²) TPS of the affine-warped source, target → source
    correlation : (B, h·w, h, w) stage-1 correlation (the soft-inlier loss reads it)
    logits, features : (B, K) M_CP logits of the source and (B, F) its GMM features
    """

    theta_aff: torch.Tensor
    theta_tps: torch.Tensor
    correlation: torch.Tensor
    logits: torch.Tensor
    features: torch.Tensor


class JimNet2D(nn.Module):
    """Jim-Net 2D (see the module docstring)."""

    def __init__(self, config: JimNet2DConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or JimNet2DConfig()
        if cfg.feature_size < 10:
            raise ValueError(f"input_size must be ≥ 160 (feature grid ≥ 10), got {cfg.input_size}")
        if cfg.backbone == "small":
            self.trunk = SmallTrunk(cfg.width)
            channels = self.trunk.out_channels
        elif cfg.backbone == "resnet101":
            self.trunk, channels = resnet101_trunk(cfg.backbone_weights)
        else:
            raise ValueError(f"backbone must be 'small' or 'resnet101', got {cfg.backbone!r}")
        g = cfg.feature_size
        self.global_corr = GlobalCorrelation("relu_l2")
        self.local_corr = LocalCorrelation(cfg.local_radius, "relu_l2")
        self.affine = Regressor(g * g, g, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]), cfg.width)
        self.tps = Regressor((2 * cfg.local_radius + 1) ** 2, g, identity_tps(1, cfg.tps_grid)[0],
                             cfg.width)
        self.reducer = nn.Sequential(nn.Linear(channels, cfg.mcp_features), nn.ReLU())
        self.classifier = nn.Linear(cfg.mcp_features, cfg.n_clusters)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] (B, 3, H, W) → ImageNet-normalised."""
        return (images - self.mean) / self.std

    def trunk_features(self, images: torch.Tensor) -> torch.Tensor:
        """Raw trunk features (B, C, h, w) of RGB images in [0, 1] (before the L2 norm)."""
        size = self.config.input_size
        if images.shape[-2:] != (size, size):
            raise ValueError(f"the model was built for {size}² inputs, "
                             f"got {tuple(images.shape[-2:])}")
        return self.trunk(self.normalise(images))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """L2-normalised trunk features (B, C, h, w): what the correlation layers read."""
        return feature_l2_norm(self.trunk_features(images))

    def cluster(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """M_CP on raw trunk features: ``(logits (B, K), GMM features (B, F))``."""
        emb = self.reducer(torch.amax(raw, dim=(-2, -1)))
        return self.classifier(emb), emb

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """M_CP of single images: ``(logits, GMM features)``."""
        return self.cluster(self.trunk_features(images))

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> JimNet2DOutput:
        """Align ``source`` to ``target``, RGB in [0, 1], shapes (B, 3, S, S), S = input_size."""
        raw_s = self.trunk_features(source)
        f_s, f_t = feature_l2_norm(raw_s), self.features(target)
        corr = self.global_corr(f_s, f_t)
        theta_aff = self.affine(corr).view(-1, 2, 3)
        size = self.config.input_size
        warped = warp_image(source, transform_grid(size, size, theta_aff=theta_aff))
        theta_tps = self.tps(self.local_corr(self.features(warped), f_t))
        logits, emb = self.cluster(raw_s)
        return JimNet2DOutput(theta_aff, theta_tps, corr, logits, emb)
