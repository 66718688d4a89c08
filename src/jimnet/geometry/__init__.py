"""Rotations, rigid poses and the paper's pose-error metrics.

All matrices here act on **zyx** column vectors (array-axis order) unless a function name says
``xyz``. See :mod:`jimnet.geometry.pose` for what a pose means.
"""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.geometry.euler": (
        "aitom_euler_to_matrix", "aitom_to_relion_euler", "matrix_to_aitom_euler",
        "matrix_xyz_to_relion_euler", "relion_euler_to_matrix_xyz", "relion_to_aitom_euler",
        "xyz_to_zyx_matrix", "zyx_to_xyz_matrix",
    ),
    "jimnet.geometry.metrics": (
        "geodesic_angle_deg", "rotation_error_frobenius", "translation_error_voxels",
    ),
    "jimnet.geometry.pose": ("compose_poses", "invert_pose", "random_rotations"),
    "jimnet.geometry.rotvec": ("matrix_to_rotvec", "rotvec_to_matrix"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
