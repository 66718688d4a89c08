import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from jimnet.geometry import invert_pose, random_rotations, relion_euler_to_matrix_xyz
from jimnet.io import (
    ParticleStar,
    make_optics_table,
    make_particles_table,
    particle_angles_deg,
    particle_origins_xyz_angst,
    pose_from_relion,
    pose_to_relion,
    read_particle_star,
    write_particle_star,
)
from jimnet.transform import rigid_transform

N = 16
C = N // 2


def _gaussian(centre_zyx, sigma):
    grid = np.stack(np.meshgrid(*[np.arange(N)] * 3, indexing="ij"), axis=-1)
    d2 = ((grid - np.asarray(centre_zyx, dtype=float)) ** 2).sum(-1)
    return np.exp(-d2 / (2 * sigma**2))


def _centroid(vol):
    vol = np.clip(np.asarray(vol, dtype=float), 0, None)
    grid = np.stack(np.meshgrid(*[np.arange(N)] * 3, indexing="ij"), axis=-1)
    return (grid * vol[..., None]).sum((0, 1, 2)) / vol.sum()


def test_simple_values():
    rot, shift = pose_from_relion([[0.0, 0.0, 0.0]], [[1.0, 2.0, 3.0]], 0.5)
    np.testing.assert_allclose(rot[0], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(shift[0], [-6.0, -4.0, -2.0])  # zyx voxels = -origin[::-1] / px
    # rot = 90° about z: RELION's A maps x to y; on zyx vectors (z, y, x) = (0, 0, 1) → (0, 1, 0).
    rot, _ = pose_from_relion([[90.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]], 1.0)
    a_xyz = Rotation.from_euler("ZYZ", [90.0, 0.0, 0.0], degrees=True).inv().as_matrix()
    np.testing.assert_allclose(rot[0], a_xyz[::-1, ::-1], atol=1e-12)


def test_round_trip_relion_pose_relion():
    rng = np.random.default_rng(0)
    angles = np.column_stack(
        [rng.uniform(-180, 180, 20), rng.uniform(1, 179, 20), rng.uniform(-180, 180, 20)]
    )
    origins = rng.normal(scale=5.0, size=(20, 3))
    rot, shift = pose_from_relion(angles, origins, 2.5)
    angles2, origins2 = pose_to_relion(rot, shift, 2.5)
    np.testing.assert_allclose(angles2, angles, atol=1e-9)
    np.testing.assert_allclose(origins2, origins, atol=1e-12)
    # and pose → RELION → pose, with torch input
    rot = random_rotations(10, seed=3)
    shift = rng.normal(size=(10, 3))
    angles3, origins3 = pose_to_relion(torch.from_numpy(rot), torch.from_numpy(shift), 1.7)
    rot3, shift3 = pose_from_relion(angles3, origins3, 1.7)
    np.testing.assert_allclose(rot3, rot, atol=1e-10)
    np.testing.assert_allclose(shift3, shift, atol=1e-12)
    np.testing.assert_allclose(
        relion_euler_to_matrix_xyz(angles3), rot[:, ::-1, ::-1], atol=1e-10
    )


def test_pose_read_from_star_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    rot = random_rotations(5, seed=4)
    shift = rng.normal(size=(5, 3))
    angles, origins = pose_to_relion(rot, shift, 4.0)
    table = make_particles_table(
        [f"p{i}.mrc" for i in range(5)], angles_deg=angles, origins_xyz_angst=origins
    )
    path = write_particle_star(tmp_path / "p.star", ParticleStar(table, make_optics_table(4, 8)))
    back = read_particle_star(path).particles
    rot2, shift2 = pose_from_relion(
        particle_angles_deg(back), particle_origins_xyz_angst(back, 4.0), 4.0
    )
    np.testing.assert_allclose(rot2, rot, atol=1e-6)  # STAR stores 6 decimals
    np.testing.assert_allclose(shift2, shift, atol=1e-6)


@pytest.mark.parametrize(
    ("angles", "origin_xyz_angst"),
    [((30.0, 50.0, -70.0), (4.0, -2.0, 3.0)), ((-120.0, 100.0, 15.0), (0.0, 3.0, -5.0))],
)
def test_physical_warp_matches_relion_meaning(angles, origin_xyz_angst):
    px = 2.0
    offset_xyz = np.array([3.0, 1.0, 0.0])  # satellite position in the reference, xyz voxels
    core = _gaussian([C, C, C], 1.5)
    satellite = _gaussian(C + offset_xyz[::-1], 1.0)
    ref = torch.from_numpy(core + 0.7 * satellite)
    rot, shift = pose_from_relion([angles], [origin_xyz_angst], px)
    rot_t, shift_t = torch.from_numpy(rot[0]), torch.from_numpy(shift[0])

    particle = rigid_transform(ref, rot_t, shift_t)
    # RELION: the particle centre is at box centre - origin; a reference point r (xyz, relative
    # to the centre) lies at A r - origin in the particle, A = from_euler("ZYZ").inv().
    a_xyz = Rotation.from_euler("ZYZ", angles, degrees=True).inv().as_matrix()
    origin_vox_xyz = np.asarray(origin_xyz_angst) / px
    core_particle = rigid_transform(torch.from_numpy(core), rot_t, shift_t).numpy()
    np.testing.assert_allclose(_centroid(core_particle), C - origin_vox_xyz[::-1], atol=0.05)
    sat_particle = rigid_transform(torch.from_numpy(satellite), rot_t, shift_t).numpy()
    expected_xyz = a_xyz @ offset_xyz - origin_vox_xyz
    np.testing.assert_allclose(_centroid(sat_particle), C + expected_xyz[::-1], atol=0.1)

    # Warping the particle by the inverse pose gives back the reference.
    inv_r, inv_t = invert_pose(rot_t, shift_t)
    back = rigid_transform(particle, inv_r, inv_t).numpy()
    inner = (slice(3, N - 3),) * 3
    target = ref.numpy()[inner]
    rel_err = np.linalg.norm(back[inner] - target) / np.linalg.norm(target)
    assert rel_err < 0.2  # two trilinear resamplings of narrow blobs blur them a little
    corr = np.corrcoef(back[inner].ravel(), target.ravel())[0, 1]
    assert corr > 0.99
    # The un-inverted pose (a sign/transpose mix-up) does not give the reference back.
    wrong = rigid_transform(particle, rot_t, -shift_t).numpy()
    assert np.corrcoef(wrong[inner].ravel(), target.ravel())[0, 1] < corr - 0.05
    assert np.linalg.norm(wrong[inner] - target) / np.linalg.norm(target) > 2 * rel_err
