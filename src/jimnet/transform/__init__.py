"""The one differentiable warp of volumes by a pose."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.transform.rigid": ("pose_sampling_grid", "rigid_transform"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
