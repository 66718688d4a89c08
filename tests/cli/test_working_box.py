"""train/predict on particles in a box other than the model's (48³ → 32³ working box)."""

import numpy as np
import pytest
import starfile
import torch
from scipy import ndimage
from typer.testing import CliRunner

from jimnet.cli.main import app
from jimnet.geometry import random_rotations
from jimnet.io import (
    ParticleSet,
    ParticleStar,
    pose_to_relion,
    read_volume,
    write_particle_star,
    write_volume,
)
from jimnet.io.star import make_optics_table, make_particles_table
from jimnet.models import load_checkpoint
from jimnet.transform import rigid_transform

BOX, VOXEL = 48, 4.0


def _write_set(root, shape=(BOX, BOX, BOX)) -> str:
    """2 classes × 3 particles of smooth blobs with random poses, light noise."""
    rng = np.random.default_rng(0)
    refs = []
    for _ in range(2):
        vol = np.zeros((BOX,) * 3)
        for _ in range(4):
            vol[tuple(BOX // 2 + rng.integers(-9, 10, 3))] = rng.uniform(1, 2)
        refs.append(ndimage.gaussian_filter(vol, 3.0))
    classes = np.repeat([1, 2], 3)
    rots = random_rotations(len(classes), seed=1)
    shifts = rng.uniform(-3, 3, size=(len(classes), 3))
    names = []
    for i, (k, r, t) in enumerate(zip(classes, rots, shifts, strict=True)):
        vol = rigid_transform(torch.from_numpy(refs[k - 1]), torch.from_numpy(r),
                              torch.from_numpy(t)).numpy()
        vol = vol + rng.normal(scale=0.2 * vol.std(), size=vol.shape)
        names.append(f"p{i}.mrc")
        write_volume(root / names[-1], vol[:shape[0], :shape[1], :shape[2]].astype(np.float32),
                     VOXEL)
    angles, origins = pose_to_relion(rots, shifts, VOXEL)
    table = make_particles_table(names, angles_deg=angles, origins_xyz_angst=origins,
                                 class_numbers=classes)
    write_particle_star(root / "particles.star",
                        ParticleStar(table, make_optics_table(VOXEL, BOX), {}, None))
    return str(root / "particles.star")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("box48")
    star = _write_set(root)
    res = CliRunner().invoke(app, ["train", star, "--out", str(root / "run"), "--classes", "2",
                                   "--epochs", "1", "--width", "0.0625", "--batch-size", "3",
                                   "--no-tsne", "--quiet", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "resampling 48³ at 4 Å/voxel → 32³ at 6 Å/voxel" in res.output
    return star, root / "run" / "model.pt"


def test_train_records_the_working_box_and_voxel_size(trained):
    ckpt = load_checkpoint(trained[1])
    assert ckpt["config"]["input_size"] == 32
    assert ckpt["extra"]["pixel_size"] == pytest.approx(VOXEL * BOX / 32)


def test_predict_resamples_and_writes_the_working_voxel_size(trained, tmp_path):
    star, model = trained
    out = tmp_path / "pred"
    res = CliRunner().invoke(app, ["predict", star, "--model", str(model), "--out", str(out),
                                   "--iterations", "1", "--no-tsne", "--quiet", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("resampling")]
    assert lines == ["resampling 48³ at 4 Å/voxel → 32³ at 6 Å/voxel (the model's box; Fourier "
                     "cropping on read)"]
    sizes = starfile.read(out / "particles.star")["particles"]["rlnClassNumber"].value_counts()
    for k, size in sizes.items():
        # a one-member cluster (the GMM of 6 particles may make one) has no half maps
        for stem in [f"class_{k:03d}"] + ([f"class_{k:03d}_half1"] if size > 1 else []):
            vol, voxel = read_volume(out / f"{stem}.mrc")
            assert vol.shape == (32, 32, 32) and voxel == pytest.approx(6.0)
    written = ParticleSet.from_star(out / "particles.star")  # still the 48³ files at 4 Å
    assert (written.box_size, written.pixel_size) == (BOX, VOXEL)
    header, *rows = (out / f"fsc_{sizes.idxmax():03d}.csv").read_text().splitlines()
    assert header.split(",")[:3] == ["frequency_per_voxel", "frequency_per_angstrom",
                                     "resolution_angstrom"]
    nyquist = [float(v) for v in rows[-1].split(",")]
    assert nyquist[0] == pytest.approx(0.5) and nyquist[2] == pytest.approx(12.0)  # 2 × 6 Å


def test_predict_refuses_a_non_cubic_box(trained, tmp_path):
    star = _write_set(tmp_path, shape=(BOX, BOX, 40))
    res = CliRunner().invoke(app, ["predict", star, "--model", str(trained[1]),
                                   "--out", str(tmp_path / "pred"), "--quiet"])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "not cubic" in res.output
    assert not (tmp_path / "pred").exists()


def test_written_origins_are_the_working_shifts_in_angstrom(trained, tmp_path):
    from jimnet.models import load_model
    from jimnet.predict import predict, write_prediction

    star, model = trained
    view = ParticleSet.from_star(star).resampled(32)
    result = predict(load_model(model), view, n_clusters=2, iterations=1, use_tsne=False,
                     batch_size=3)
    write_prediction(result, view, tmp_path / "pred")
    back = ParticleSet.from_star(tmp_path / "pred" / "particles.star")
    rot, shift = back.poses()  # voxels of the 4 Å files
    np.testing.assert_allclose(rot, result.rotations, atol=1e-6)
    np.testing.assert_allclose(shift, result.shifts * 6.0 / 4.0, atol=1e-4)
    np.testing.assert_allclose(back.resampled(32).poses()[1], result.shifts, atol=1e-4)


def test_train_keeps_the_box_of_an_init_model(trained, tmp_path):
    star, model = trained
    args = ["train", star, "--out", str(tmp_path / "run"), "--classes", "2", "--init", str(model)]
    res = CliRunner().invoke(app, [*args, "--box", "0"])
    assert res.exit_code == 2 and "works in a 32³ box, not 48³: pass --box 32" in res.output
    assert not (tmp_path / "run").exists()
    res = CliRunner().invoke(app, ["train", star, "--out", str(tmp_path / "run"), "--box", "12"])
    assert res.exit_code == 2 and "cannot build the jimnet model for a 12³ box" in res.output
