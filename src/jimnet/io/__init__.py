"""File I/O at the boundary: MRC volumes, RELION STAR particle files, particle sets, poses.

Inside jimnet, arrays are zyx and poses follow :mod:`jimnet.geometry.pose`; files follow
MRC2014 and RELION 5 conventions (xyz columns, ZYZ Euler angles in degrees, origins in Å). The
RELION ↔ pose conversion lives only in :mod:`jimnet.io.poses`. All writers are atomic and refuse
to overwrite unless ``force=True``.
"""

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
