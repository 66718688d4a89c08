"""A tiny two-class particle set with known poses, made independently of the simulator."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from jimnet.geometry import random_rotations
from jimnet.io import ParticleStar, pose_to_relion, write_particle_star, write_volume
from jimnet.io.star import make_optics_table, make_particles_table
from jimnet.transform import rigid_transform

BOX = 32


def _blob_reference(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vol = np.zeros((BOX,) * 3)
    for _ in range(4):
        c = BOX // 2 + rng.integers(-6, 7, 3)
        vol[tuple(c)] = rng.uniform(1, 2)
    return ndimage.gaussian_filter(vol, 2.0)


@pytest.fixture(scope="session")
def tiny_star(tmp_path_factory) -> str:
    """2 classes × 4 particles, 32³, random poses (±3 voxels), light noise; returns the STAR."""
    root = tmp_path_factory.mktemp("tiny_set")
    refs = [_blob_reference(1), _blob_reference(2)]
    classes = np.repeat([1, 2], 4)
    rots = random_rotations(len(classes), seed=3)
    rng = np.random.default_rng(4)
    shifts = rng.uniform(-3, 3, size=(len(classes), 3))
    names = []
    for i, (k, r, t) in enumerate(zip(classes, rots, shifts, strict=True)):
        vol = rigid_transform(torch.from_numpy(refs[k - 1]), torch.from_numpy(r),
                              torch.from_numpy(t)).numpy()
        vol = vol + rng.normal(scale=0.2 * vol.std(), size=vol.shape)
        name = f"p{i:03d}.mrc"
        write_volume(root / name, vol.astype(np.float32), 10.0)
        names.append(name)
    angles, origins = pose_to_relion(rots, shifts, 10.0)
    table = make_particles_table(names, angles_deg=angles, origins_xyz_angst=origins,
                                 class_numbers=classes)
    star = ParticleStar(particles=table, optics=make_optics_table(10.0, BOX), other_blocks={},
                        path=None)
    write_particle_star(root / "particles.star", star)
    return str(root / "particles.star")
