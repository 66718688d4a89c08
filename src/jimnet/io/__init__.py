"""File I/O at the boundary: MRC volumes, RELION STAR particle files, particle sets, poses.

Inside jimnet, arrays are zyx and poses follow :mod:`jimnet.geometry.pose`; files follow
MRC2014 and RELION 5 conventions (xyz columns, ZYZ Euler angles in degrees, origins in Å). The
RELION ↔ pose conversion lives only in :mod:`jimnet.io.poses`. All writers are atomic and refuse
to overwrite unless ``force=True``.
"""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.io.atomic": (
        "atomic_output_dir", "atomic_write", "atomic_write_text", "check_all_can_write",
        "check_can_write",
    ),
    "jimnet.io.mrc": (
        "MrcHeader", "open_mrc_data", "read_mrc_header", "read_stack_item", "read_volume",
        "read_volume_stack", "write_volume", "write_volume_stack",
    ),
    "jimnet.io.particles": ("ParticleSet",),
    "jimnet.io.poses": ("pose_from_relion", "pose_to_relion"),
    "jimnet.io.star": (
        "ImageLocation", "ParticleStar", "make_optics_table", "make_particles_table",
        "optics_box_size", "optics_pixel_size", "particle_angles_deg", "particle_class_numbers",
        "particle_origins_xyz_angst", "particle_tilt_ranges", "read_particle_star",
        "rebase_image_names", "resolve_image_locations", "star_to_string", "update_particles",
        "write_particle_star",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
