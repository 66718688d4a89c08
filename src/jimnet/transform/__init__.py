"""The one differentiable warp of volumes by a pose."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.transform.rigid import pose_sampling_grid, rigid_transform

_EXPORTS = {
    "pose_sampling_grid": "jimnet.transform.rigid",
    "rigid_transform": "jimnet.transform.rigid",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["pose_sampling_grid", "rigid_transform"]
