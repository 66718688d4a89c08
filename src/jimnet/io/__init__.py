"""File I/O at the boundary: MRC volumes, RELION STAR particle files, particle sets, poses.

Inside jimnet, arrays are zyx and poses follow :mod:`jimnet.geometry.pose`; files follow
MRC2014 and RELION 5 conventions (xyz columns, ZYZ Euler angles in degrees, origins in Å). The
RELION ↔ pose conversion lives only in :mod:`jimnet.io.poses`. All writers are atomic and refuse
to overwrite unless ``force=True``.
"""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.io.atomic import (
        atomic_output_dir,
        atomic_write,
        atomic_write_text,
        check_all_can_write,
        check_can_write,
    )
    from jimnet.io.mrc import (
        MrcHeader,
        open_mrc_data,
        read_mrc_header,
        read_stack_item,
        read_volume,
        read_volume_stack,
        write_volume,
        write_volume_stack,
    )
    from jimnet.io.particles import ParticleSet
    from jimnet.io.poses import pose_from_relion, pose_to_relion
    from jimnet.io.star import (
        ImageLocation,
        ParticleStar,
        make_optics_table,
        make_particles_table,
        optics_box_size,
        optics_pixel_size,
        particle_angles_deg,
        particle_class_numbers,
        particle_origins_xyz_angst,
        particle_tilt_ranges,
        read_particle_star,
        rebase_image_names,
        resolve_image_locations,
        star_to_string,
        update_particles,
        write_particle_star,
    )

_EXPORTS = {
    "atomic_output_dir": "jimnet.io.atomic",
    "atomic_write": "jimnet.io.atomic",
    "atomic_write_text": "jimnet.io.atomic",
    "check_all_can_write": "jimnet.io.atomic",
    "check_can_write": "jimnet.io.atomic",
    "MrcHeader": "jimnet.io.mrc",
    "open_mrc_data": "jimnet.io.mrc",
    "read_mrc_header": "jimnet.io.mrc",
    "read_stack_item": "jimnet.io.mrc",
    "read_volume": "jimnet.io.mrc",
    "read_volume_stack": "jimnet.io.mrc",
    "write_volume": "jimnet.io.mrc",
    "write_volume_stack": "jimnet.io.mrc",
    "ParticleSet": "jimnet.io.particles",
    "pose_from_relion": "jimnet.io.poses",
    "pose_to_relion": "jimnet.io.poses",
    "ImageLocation": "jimnet.io.star",
    "ParticleStar": "jimnet.io.star",
    "make_optics_table": "jimnet.io.star",
    "make_particles_table": "jimnet.io.star",
    "optics_box_size": "jimnet.io.star",
    "optics_pixel_size": "jimnet.io.star",
    "particle_angles_deg": "jimnet.io.star",
    "particle_class_numbers": "jimnet.io.star",
    "particle_origins_xyz_angst": "jimnet.io.star",
    "particle_tilt_ranges": "jimnet.io.star",
    "read_particle_star": "jimnet.io.star",
    "rebase_image_names": "jimnet.io.star",
    "resolve_image_locations": "jimnet.io.star",
    "star_to_string": "jimnet.io.star",
    "update_particles": "jimnet.io.star",
    "write_particle_star": "jimnet.io.star",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ImageLocation",
    "MrcHeader",
    "ParticleSet",
    "ParticleStar",
    "atomic_output_dir",
    "atomic_write",
    "atomic_write_text",
    "check_all_can_write",
    "check_can_write",
    "make_optics_table",
    "make_particles_table",
    "open_mrc_data",
    "optics_box_size",
    "optics_pixel_size",
    "particle_angles_deg",
    "particle_class_numbers",
    "particle_origins_xyz_angst",
    "particle_tilt_ranges",
    "pose_from_relion",
    "pose_to_relion",
    "read_mrc_header",
    "read_particle_star",
    "read_stack_item",
    "read_volume",
    "read_volume_stack",
    "rebase_image_names",
    "resolve_image_locations",
    "star_to_string",
    "update_particles",
    "write_particle_star",
    "write_volume",
    "write_volume_stack",
]
