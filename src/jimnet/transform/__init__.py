"""The one differentiable warp of volumes by a pose."""

from jimnet.transform.rigid import pose_sampling_grid, rigid_transform

__all__ = ["pose_sampling_grid", "rigid_transform"]
