"""Rotations, rigid poses and the paper's pose-error metrics.

All matrices here act on **zyx** column vectors (array-axis order) unless a function name says
``xyz``. See :mod:`jimnet.geometry.pose` for what a pose means.
"""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.geometry.euler import (
        aitom_euler_to_matrix,
        aitom_to_relion_euler,
        matrix_to_aitom_euler,
        matrix_xyz_to_relion_euler,
        relion_euler_to_matrix_xyz,
        relion_to_aitom_euler,
        xyz_to_zyx_matrix,
        zyx_to_xyz_matrix,
    )
    from jimnet.geometry.metrics import (
        geodesic_angle_deg,
        rotation_error_frobenius,
        translation_error_voxels,
    )
    from jimnet.geometry.pose import compose_poses, invert_pose, random_rotations
    from jimnet.geometry.rotvec import matrix_to_rotvec, rotvec_to_matrix

_EXPORTS = {
    "aitom_euler_to_matrix": "jimnet.geometry.euler",
    "aitom_to_relion_euler": "jimnet.geometry.euler",
    "matrix_to_aitom_euler": "jimnet.geometry.euler",
    "matrix_xyz_to_relion_euler": "jimnet.geometry.euler",
    "relion_euler_to_matrix_xyz": "jimnet.geometry.euler",
    "relion_to_aitom_euler": "jimnet.geometry.euler",
    "xyz_to_zyx_matrix": "jimnet.geometry.euler",
    "zyx_to_xyz_matrix": "jimnet.geometry.euler",
    "geodesic_angle_deg": "jimnet.geometry.metrics",
    "rotation_error_frobenius": "jimnet.geometry.metrics",
    "translation_error_voxels": "jimnet.geometry.metrics",
    "compose_poses": "jimnet.geometry.pose",
    "invert_pose": "jimnet.geometry.pose",
    "random_rotations": "jimnet.geometry.pose",
    "matrix_to_rotvec": "jimnet.geometry.rotvec",
    "rotvec_to_matrix": "jimnet.geometry.rotvec",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "aitom_euler_to_matrix",
    "aitom_to_relion_euler",
    "compose_poses",
    "geodesic_angle_deg",
    "invert_pose",
    "matrix_to_aitom_euler",
    "matrix_to_rotvec",
    "matrix_xyz_to_relion_euler",
    "random_rotations",
    "relion_euler_to_matrix_xyz",
    "relion_to_aitom_euler",
    "rotation_error_frobenius",
    "rotvec_to_matrix",
    "translation_error_voxels",
    "xyz_to_zyx_matrix",
    "zyx_to_xyz_matrix",
]
