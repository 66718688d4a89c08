"""Score a 2D alignment model on keypoint pairs: PCK@α of the identity, affine and composed
affine∘TPS warps, per pair (METHOD.md §7.3)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from jimnet.evaluate.pck import pair_pck
from jimnet.io.pfpascal import ImagePair, load_image
from jimnet.models.jimnet2d import JimNet2D

STAGES = ("identity", "affine", "affine_tps")


def evaluate_pairs(model: JimNet2D | None, pairs: list[ImagePair], image_dir: str | os.PathLike,
                   *, alpha: float = 0.1, batch_size: int = 8, input_size: int = 240,
                   device: str | torch.device = "cpu",
                   progress: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """Per-pair PCK@α (SCNet procedure) of every stage; ``model=None`` scores the identity only.

    Returns
    -------
    list of dict
        One per pair: ``source_image``, ``target_image``, ``class``, ``n_keypoints`` and
        ``pck_<stage>`` for the stages evaluated (fractions in [0, 1]).
    """
    if model is not None:
        model.eval().to(device)
        input_size = model.config.input_size
    rows = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        loaded = [(load_image(Path(image_dir) / p.source, input_size, flip=p.flip),
                   load_image(Path(image_dir) / p.target, input_size, flip=p.flip))
                  for p in chunk]
        thetas: list[tuple] = [(None, None)] * len(chunk)
        if model is not None:
            with torch.no_grad():
                out = model(torch.stack([a[0] for a, _ in loaded]).to(device),
                            torch.stack([b[0] for _, b in loaded]).to(device))
            thetas = list(zip(out.theta_aff.cpu(), out.theta_tps.cpu(), strict=True))
        for p, ((_, size_a), (_, size_b)), (aff, tps) in zip(chunk, loaded, thetas, strict=True):
            src_pts, tgt_pts = p.source_points, p.target_points
            if p.flip:  # both images were mirrored: mirror the keypoints (1-based pixels)
                src_pts = src_pts * [-1, 1] + [size_a[1] + 1, 0]
                tgt_pts = tgt_pts * [-1, 1] + [size_b[1] + 1, 0]
            row = {"source_image": p.source, "target_image": p.target, "class": p.cls,
                   "n_keypoints": len(p.source_points)}
            stages = {"identity": (None, None)}
            if model is not None:
                stages.update(affine=(aff, None), affine_tps=(aff, tps))
            for name, (a, t) in stages.items():
                row[f"pck_{name}"] = pair_pck(src_pts, tgt_pts, size_a, size_b,
                                              a, t, alpha=alpha,
                                              tps_grid=model.config.tps_grid if model else 3)
            rows.append(row)
        if progress:
            progress("pairs", len(rows), len(pairs))
    return rows
