"""Offline 2D benchmark in PF-PASCAL format: procedural object classes, random affine + TPS
warps, known keypoints.

Each class is a procedural "object": a few parts (ellipses and rectangles with striped
textures, class-specific layout and palette) whose centres are the class's keypoints. An image
is an *instance*: the object with jittered parts and colours, filling most of the frame on a
random smooth low-contrast background,
seen through a random affine + thin-plate-spline warp (:mod:`jimnet.transform.warp2d`), at a
random image size, with pixel noise. Keypoints are the warped part centres (only those inside
both images of a pair are listed), so a test pair's correspondences are exact and the relative
transformation is not a single affine (two independent warps, jittered parts).

Output (:func:`write_benchmark`)::

    DIR/images/train/cKK_iNNNN.png   training images (class KK, 1-based)
    DIR/images/test/cKK_pNNNN_{a,b}.png   test pairs
    DIR/train_pairs.csv   source_image,target_image,class,flip   (same-class pairs)
    DIR/test_pairs.csv    source_image,target_image,class,XA,YA,XB,YB
    DIR/benchmark.json    parameters, seed, counts

The same seed gives the same files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.special import expit

from jimnet.io.atomic import atomic_output_dir
from jimnet.io.pfpascal import ImagePair, write_pairs
from jimnet.transform.warp2d import (
    compose_points,
    invert_points,
    random_affine,
    random_tps,
    unit_grid,
    unit_to_pixel,
)


@dataclass(frozen=True)
class Benchmark2DConfig:
    """Benchmark parameters (defaults: the committed benchmark).

    Attributes
    ----------
    n_classes, train_per_class, test_pairs_per_class : int
    parts : int
        Parts (= keypoints) per object.
    size_range : tuple of int
        Image height and width drawn uniformly in this range (pixels).
    rotation_deg, scale, shear, translation, tps : float / tuple
        Random warp ranges (:func:`~jimnet.transform.warp2d.random_affine`, ``random_tps``).
    jitter : float
        Per-instance part displacement (normalised units, uniform ±).
    noise : float
        Pixel noise standard deviation (intensities in [0, 1]).
    flip_fraction : float
        Fraction of training rows flagged ``flip = 1``.
    seed : int
    """

    n_classes: int = 5
    train_per_class: int = 40
    test_pairs_per_class: int = 20
    parts: int = 6
    size_range: tuple[int, int] = (200, 280)
    rotation_deg: float = 15.0
    scale: tuple[float, float] = (0.8, 1.1)
    shear: float = 0.1
    translation: float = 0.15
    tps: float = 0.08
    jitter: float = 0.03
    noise: float = 0.03
    flip_fraction: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class ObjectClass:
    """Canonical parts of one class: centres (P, 2) xy, radii (P, 2), kinds (0 ellipse,
    1 rectangle), colours (P, 3), stripe frequency (P,) and angle (P,)."""

    centres: NDArray[np.float64]
    radii: NDArray[np.float64]
    kinds: NDArray[np.int64]
    colours: NDArray[np.float64]
    stripe_freq: NDArray[np.float64]
    stripe_angle: NDArray[np.float64]


def make_classes(config: Benchmark2DConfig, rng: np.random.Generator) -> list[ObjectClass]:
    """Draw the canonical objects: part centres ≥ 0.3 apart in [−0.6, 0.6]², radii 0.1–0.22, so
    the object fills most of the frame (as PF-PASCAL's objects do); one hue per class."""
    classes = []
    for k in range(config.n_classes):
        centres: list[NDArray[np.float64]] = []
        while len(centres) < config.parts:
            c = rng.uniform(-0.6, 0.6, 2)
            if all(np.linalg.norm(c - o) >= 0.3 for o in centres):
                centres.append(c)
        hue = (k + rng.uniform(0, 0.5)) / config.n_classes
        base = 0.5 + 0.45 * np.cos(2 * np.pi * (hue + np.array([0.0, 1 / 3, 2 / 3])))
        colours = np.clip(base + rng.uniform(-0.25, 0.25, (config.parts, 3)), 0, 1)
        classes.append(ObjectClass(np.array(centres), rng.uniform(0.1, 0.22, (config.parts, 2)),
                                   rng.integers(0, 2, config.parts), colours,
                                   rng.uniform(15, 40, config.parts),
                                   rng.uniform(0, np.pi, config.parts)))
    return classes


def render_instance(obj: ObjectClass, config: Benchmark2DConfig, rng: np.random.Generator
                    ) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """One instance: ``(image (H, W, 3) uint8, keypoints (P, 2) 1-based pixel xy)``.

    Keypoints that fall outside the image are NaN.
    """
    h, w = (int(v) for v in rng.integers(config.size_range[0], config.size_range[1] + 1, 2))
    theta_aff = random_affine(1, rng, rotation_deg=config.rotation_deg, scale=config.scale,
                              shear=config.shear, translation=config.translation).double()
    theta_tps = random_tps(1, rng, magnitude=config.tps).double()
    centres = obj.centres + rng.uniform(-config.jitter, config.jitter, obj.centres.shape)
    radii = obj.radii * rng.uniform(0.9, 1.1, obj.radii.shape)
    colours = np.clip(obj.colours + rng.uniform(-0.08, 0.08, obj.colours.shape), 0, 1)
    # image pixel → canonical coordinates of the object (the image is the object warped)
    pix = unit_grid(h, w, dtype=torch.float64)[None]
    u = compose_points(theta_aff, theta_tps, pix)[0].numpy()
    # a smooth, low-contrast background of random brightness and tint (class-independent)
    coarse = rng.uniform(-0.1, 0.1, (4, 4, 3))
    bg = _upsample(coarse, h, w) + rng.uniform(0.25, 0.75) + rng.uniform(-0.08, 0.08, 3)
    image = bg.reshape(-1, 3)
    for p in range(len(centres)):
        d = (u - centres[p]) / radii[p]
        dist = np.sqrt((d ** 2).sum(1)) if obj.kinds[p] == 0 else np.abs(d).max(1)
        alpha = expit((1.0 - dist) * 30.0)  # soft edge, ~1/30 of the part's radius
        direction = np.array([np.cos(obj.stripe_angle[p]), np.sin(obj.stripe_angle[p])])
        stripes = 0.75 + 0.25 * np.sign(np.sin(obj.stripe_freq[p] * (u - centres[p]) @ direction))
        image = image * (1 - alpha[:, None]) + alpha[:, None] * colours[p] * stripes[:, None]
    image = image.reshape(h, w, 3) + rng.normal(0, config.noise, (h, w, 3))
    kp_unit = invert_points(theta_aff, theta_tps, torch.as_tensor(centres)[None])
    kp = unit_to_pixel(kp_unit, torch.tensor([h, w]))[0].numpy()
    inside = np.all(np.abs(kp_unit[0].numpy()) <= 1.0, axis=1)
    kp[~inside] = np.nan
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), kp


def _upsample(coarse: NDArray[np.float64], h: int, w: int) -> NDArray[np.float64]:
    t = torch.as_tensor(coarse.transpose(2, 0, 1))[None]
    up = torch.nn.functional.interpolate(t, size=(h, w), mode="bicubic", align_corners=True)
    return up[0].numpy().transpose(1, 2, 0)


def _save_png(path: Path, image: NDArray[np.uint8]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def write_benchmark(out: str | os.PathLike, config: Benchmark2DConfig | None = None, *,
                    force: bool = False) -> Path:
    """Write the benchmark directory (see the module docstring); returns its path."""
    cfg = config or Benchmark2DConfig()
    rng = np.random.default_rng(cfg.seed)
    classes = make_classes(cfg, rng)
    with atomic_output_dir(out, force=force) as tmp:
        train: list[ImagePair] = []
        for k, obj in enumerate(classes, start=1):
            names = []
            for i in range(cfg.train_per_class):
                image, _ = render_instance(obj, cfg, rng)
                names.append(f"train/c{k:02d}_i{i:04d}.png")
                _save_png(tmp / "images" / names[-1], image)
            partners = np.roll(np.arange(len(names)), -1)
            for i, j in enumerate(partners):
                train.append(ImagePair(names[i], names[j], k,
                                       flip=bool(rng.uniform() < cfg.flip_fraction)))
        test: list[ImagePair] = []
        for k, obj in enumerate(classes, start=1):
            made = 0
            while made < cfg.test_pairs_per_class:
                (img_a, kp_a), (img_b, kp_b) = (render_instance(obj, cfg, rng) for _ in range(2))
                both = ~(np.isnan(kp_a).any(1) | np.isnan(kp_b).any(1))
                if both.sum() < 3:
                    continue
                stem = f"test/c{k:02d}_p{made:04d}"
                _save_png(tmp / "images" / f"{stem}_a.png", img_a)
                _save_png(tmp / "images" / f"{stem}_b.png", img_b)
                test.append(ImagePair(f"{stem}_a.png", f"{stem}_b.png", k, kp_a[both], kp_b[both]))
                made += 1
        write_pairs(tmp / "train_pairs.csv", train)
        write_pairs(tmp / "test_pairs.csv", test)
        summary = {"config": asdict(cfg), "train_images": len(train), "test_pairs": len(test)}
        (tmp / "benchmark.json").write_text(json.dumps(summary, indent=2) + "\n")
    return Path(out)


__all__ = ["Benchmark2DConfig", "ObjectClass", "make_classes", "render_instance",
           "write_benchmark"]
