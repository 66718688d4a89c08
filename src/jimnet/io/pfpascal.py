"""PF-PASCAL-format image-pair CSVs (the WeakAlign / NCNet releases) and their images.

Columns (header row, by name; others are ignored):

* ``source_image``, ``target_image`` — image paths relative to the image directory;
* ``class`` — 1-based category (PF-PASCAL: 1–20, ``aeroplane`` … ``tvmonitor``);
* ``XA``, ``YA``, ``XB``, ``YB`` — keypoints of the source (A) and target (B), each a
  ``;``-separated list of **1-based pixel** coordinates in the original image (test/val files);
* ``flip`` — 0/1: use both images mirrored left–right (``pf-pascal-flip/train_pairs.csv``).

Keypoints are returned as float arrays (N, 2) in xy order, unchanged (1-based pixels).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from jimnet.errors import JimnetInputError
from jimnet.io.atomic import atomic_write
from jimnet.transform.warp2d import resize_image

__all__ = ["ImagePair", "image_set", "load_image", "load_images", "read_pairs", "write_pairs"]

REQUIRED = ("source_image", "target_image")
KEYPOINT_COLUMNS = ("XA", "YA", "XB", "YB")


@dataclass(frozen=True)
class ImagePair:
    """One CSV row. ``source_points``/``target_points``: (N, 2) xy 1-based pixels, or ``None``."""

    source: str
    target: str
    cls: int
    source_points: NDArray[np.float64] | None = None
    target_points: NDArray[np.float64] | None = None
    flip: bool = False
    row: int = 0


def _parse_points(text: str, where: str, column: str) -> NDArray[np.float64]:
    parts = [p for p in text.strip().split(";") if p.strip()]
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        raise JimnetInputError(f"{where}: malformed keypoint string in column {column}: "
                               f"{text!r}") from None
    if len(values) == 0 or not np.all(np.isfinite(values)):
        raise JimnetInputError(f"{where}: malformed keypoint string in column {column}: {text!r}")
    return values


def read_pairs(path: str | os.PathLike, *, n_classes: int | None = None,
               require_keypoints: bool = False, image_dir: str | os.PathLike | None = None
               ) -> list[ImagePair]:
    """Read and validate a PF-PASCAL pair CSV.

    Parameters
    ----------
    path : path-like
        The CSV.
    n_classes : int, optional
        Classes must lie in 1 … ``n_classes`` (without it: any integer ≥ 1). A missing ``class``
        column gives class 1 to every row.
    require_keypoints : bool
        Demand the ``XA, YA, XB, YB`` columns (evaluation).
    image_dir : path-like, optional
        When given, every image must exist there.

    Raises
    ------
    JimnetInputError
        One line naming the file and row (line number, header = 1): missing file or column,
        missing image, malformed keypoint string, unknown class, bad flip.
    """
    path = Path(path)
    if not path.is_file():
        raise JimnetInputError(f"{path}: no such file")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        wanted = REQUIRED + (KEYPOINT_COLUMNS if require_keypoints else ())
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise JimnetInputError(f"{path}: missing column(s) {', '.join(missing)}")
        has_points = all(c in columns for c in KEYPOINT_COLUMNS)
        pairs = [_parse_row(row, f"{path} row {line}", line, has_points, n_classes, image_dir)
                 for line, row in enumerate(reader, start=2)]
    if not pairs:
        raise JimnetInputError(f"{path}: no pairs")
    return pairs


def _parse_row(row: dict[str, str], where: str, line: int, has_points: bool,
               n_classes: int | None, image_dir: str | os.PathLike | None) -> ImagePair:
    if None in row or any(row.get(c) is None for c in REQUIRED):
        raise JimnetInputError(f"{where}: wrong number of fields")
    raw_class = (row.get("class") or "1").strip()
    try:
        cls = int(float(raw_class))
        if cls != float(raw_class):
            raise ValueError
    except ValueError:
        raise JimnetInputError(f"{where}: unknown class {raw_class!r}") from None
    if cls < 1 or (n_classes is not None and cls > n_classes):
        limit = f"1…{n_classes}" if n_classes is not None else "≥ 1"
        raise JimnetInputError(f"{where}: unknown class {cls} (expected {limit})")
    raw_flip = (row.get("flip") or "0").strip()
    if raw_flip not in ("0", "1"):
        raise JimnetInputError(f"{where}: flip must be 0 or 1, got {raw_flip!r}")
    src_pts = tgt_pts = None
    if has_points:
        xa, ya, xb, yb = (_parse_points(row[c] or "", where, c) for c in KEYPOINT_COLUMNS)
        if not len(xa) == len(ya) == len(xb) == len(yb):
            raise JimnetInputError(f"{where}: XA, YA, XB, YB have different numbers of keypoints "
                                   f"({len(xa)}, {len(ya)}, {len(xb)}, {len(yb)})")
        src_pts, tgt_pts = np.stack([xa, ya], 1), np.stack([xb, yb], 1)
    pair = ImagePair(row["source_image"].strip(), row["target_image"].strip(), cls, src_pts,
                     tgt_pts, raw_flip == "1", line)
    if image_dir is not None:
        for name in (pair.source, pair.target):
            if not (Path(image_dir) / name).is_file():
                raise JimnetInputError(f"{where}: missing image {Path(image_dir) / name}")
    return pair


def _format_points(values: NDArray[np.float64]) -> str:
    return ";".join(f"{v:.6g}" for v in values)


def write_pairs(path: str | os.PathLike, pairs: list[ImagePair], *, force: bool = False) -> Path:
    """Write pairs in the same format (keypoint columns when every pair has them, ``flip``
    when any pair is flipped), atomically."""
    with_points = all(p.source_points is not None for p in pairs)
    with_flip = any(p.flip for p in pairs)
    header = ["source_image", "target_image", "class"]
    header += list(KEYPOINT_COLUMNS) if with_points else []
    header += ["flip"] if with_flip else []
    with atomic_write(path, force=force) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for p in pairs:
            row: list[str | int] = [p.source, p.target, p.cls]
            if with_points:
                row += [_format_points(pts[:, axis]) for pts in (p.source_points, p.target_points)
                        for axis in (0, 1)]
            if with_flip:
                row.append(int(p.flip))
            writer.writerow(row)
    return Path(path)


def load_image(path: str | os.PathLike, size: int, *, flip: bool = False
               ) -> tuple[torch.Tensor, tuple[int, int]]:
    """An RGB image resized to ``size × size`` (bilinear, corners kept), values in [0, 1].

    Returns
    -------
    (image, (height, width))
        (3, size, size) float32 tensor and the original size in pixels.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise JimnetInputError(f"{path}: cannot read image ({exc})") from None
    if flip:
        array = array[:, ::-1]
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]
    return resize_image(tensor, size, size)[0], (array.shape[0], array.shape[1])


def image_set(pairs: list[ImagePair]) -> list[tuple[str, bool, int]]:
    """The distinct images of a pair list as ``(name, flip, class)``, in order of first use
    (source before target); a flipped row contributes the mirrored images."""
    seen: dict[tuple[str, bool], int] = {}
    for p in pairs:
        for name in (p.source, p.target):
            seen.setdefault((name, p.flip), p.cls)
    return [(name, flip, cls) for (name, flip), cls in seen.items()]


def load_images(entries: list[tuple[str, bool, int]], image_dir: str | os.PathLike, size: int,
                progress: Callable[[str, int, int], None] | None = None) -> torch.Tensor:
    """Load :func:`image_set` entries as a uint8 tensor (n, 3, size, size)."""
    out = torch.empty(len(entries), 3, size, size, dtype=torch.uint8)
    for i, (name, flip, _) in enumerate(entries):
        image, _ = load_image(Path(image_dir) / name, size, flip=flip)
        out[i] = (image * 255).round().to(torch.uint8)
        if progress:
            progress("images", i + 1, len(entries))
    return out
