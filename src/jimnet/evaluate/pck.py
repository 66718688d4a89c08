"""PCK@α with the SCNet procedure used for PF-PASCAL (METHOD.md §7.3, §8.4).

SCNet procedure: the keypoints of both images are rescaled to a 224 × 224 frame
(``x·224/W``, ``y·224/H``), the image sizes become 224 × 224 and ``L = 224``. The target's
keypoints are mapped into the source by the estimated transformation (target → source,
:mod:`jimnet.transform.warp2d`); a keypoint is correct when its distance to the source's
keypoint is **at most** ``α·L`` (22.4 px for α = 0.1).
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from jimnet.transform.warp2d import affine_points, pixel_to_unit, tps_points, unit_to_pixel

#: The SCNet frame edge and reference length L.
SCNET_SIZE = 224.0


def scnet_rescale(points: ArrayLike, size_hw: tuple[int, int]) -> NDArray[np.float64]:
    """Keypoints (N, 2) xy in an ``H × W`` image → the 224 × 224 frame."""
    h, w = size_hw
    return np.asarray(points, dtype=np.float64) * np.array([SCNET_SIZE / w, SCNET_SIZE / h])


def pck(source_points: ArrayLike, warped_points: ArrayLike, reference_length: float = SCNET_SIZE,
        alpha: float = 0.1) -> float:
    """Fraction of keypoints with ``‖source − warped‖ ≤ α·L`` (one pair, points (N, 2))."""
    d = np.linalg.norm(np.asarray(source_points, float) - np.asarray(warped_points, float), axis=1)
    return float(np.mean(d <= alpha * reference_length))


def transfer_keypoints(target_points: ArrayLike, theta_aff: torch.Tensor | None = None,
                       theta_tps: torch.Tensor | None = None, *, tps_grid: int = 3,
                       frame: float = SCNET_SIZE) -> NDArray[np.float64]:
    """Map the target's keypoints (N, 2), 1-based pixels of a ``frame × frame`` image, into the
    source frame by ``A∘T`` (either part may be ``None`` = identity); parameters of one pair."""
    size = torch.tensor([frame, frame], dtype=torch.float64)
    pts = pixel_to_unit(torch.as_tensor(np.asarray(target_points), dtype=torch.float64)[None],
                        size)
    if theta_tps is not None:
        pts = tps_points(theta_tps.detach().double().reshape(1, -1), pts, tps_grid)
    if theta_aff is not None:
        pts = affine_points(theta_aff.detach().double().reshape(1, 2, 3), pts)
    return unit_to_pixel(pts, size)[0].numpy()


def pair_pck(source_points: ArrayLike, target_points: ArrayLike, source_size_hw: tuple[int, int],
             target_size_hw: tuple[int, int], theta_aff: torch.Tensor | None = None,
             theta_tps: torch.Tensor | None = None, *, alpha: float = 0.1,
             tps_grid: int = 3) -> float:
    """PCK@α of one pair under the SCNet procedure (original-image keypoints and sizes)."""
    src = scnet_rescale(source_points, source_size_hw)
    tgt = scnet_rescale(target_points, target_size_hw)
    warped = transfer_keypoints(tgt, theta_aff, theta_tps, tps_grid=tps_grid)
    return pck(src, warped, SCNET_SIZE, alpha)
