"""``jimnet simulate`` end to end: files, read-back with plain starfile/mrcfile, truth poses."""

import json
import math

import mrcfile
import numpy as np
import pytest
import starfile
import torch
import typer
from typer.testing import CliRunner

from jimnet.cli.simulate import simulate
from jimnet.geometry import invert_pose
from jimnet.io import ParticleSet
from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory
from jimnet.transform import rigid_transform


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    app.command("simulate")(simulate)
    return app


def run(*args: str):
    return CliRunner().invoke(_app(), ["simulate", *args])


SMALL = ("--box", "16", "--max-shift-vox", "3", "--tilt-step", "5", "--quiet")


def test_benchmark_paper_multi_snr_layout_and_plain_readers(tmp_path):
    out = tmp_path / "sim"
    res = run("--benchmark", "paper", "--snr", "0.1,1", "--snr", "inf", "--n-per-class", "2",
              "--out", str(out), "--mode", "fourier", "--voxel-size", "24", *SMALL)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["snr_0.1", "snr_1", "snr_inf"]
    d = out / "snr_0.1"
    star = starfile.read(d / "particles.star", always_dict=True)
    particles, optics = star["particles"], star["optics"]
    assert len(particles) == 10
    assert sorted(particles["rlnClassNumber"]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert float(optics["rlnImagePixelSize"].iloc[0]) == 24.0
    assert int(optics["rlnImageSize"].iloc[0]) == 16
    assert set(particles["jimnetTiltMin"]) == {-60.0} and set(particles["jimnetTiltMax"]) == {60.0}
    for name in particles["rlnImageName"]:
        with mrcfile.open(d / name) as mrc:
            assert mrc.data.shape == (16, 16, 16) and mrc.data.dtype == np.float32
            assert mrc.voxel_size.x == pytest.approx(24.0)
    refs = sorted(p.name for p in (d / "references").iterdir())
    assert refs == ["class01_3jb9.mrc", "class02_1qvr.mrc", "class03_4v4r_30S.mrc",
                    "class04_6qzp.mrc", "class05_4cr2.mrc"]
    meta = json.loads((d / "simulation.json").read_text())
    assert meta["snr"] == 0.1 and meta["seed"] == 0 and meta["parameters"]["box"] == 16
    assert meta["structures"][0]["stands_in_for"] == "5LQW"
    # Global normalisation (default): the whole set has mean 0 and std 1.
    vols = np.stack([mrcfile.read(d / n) for n in particles["rlnImageName"]])
    assert abs(vols.mean()) < 1e-5 and vols.std() == pytest.approx(1.0, rel=1e-4)
    # Same particles (poses, classes) at every SNR level.
    other = starfile.read(out / "snr_inf" / "particles.star", always_dict=True)["particles"]
    assert other.equals(particles)


def test_same_seed_gives_byte_identical_files(tmp_path):
    args = ("--structure", "1qvr", "--structure", "4cr2", "--n-per-class", "3", "--seed", "7",
            *SMALL)
    for k in (1, 2):
        assert run(*args, "--out", str(tmp_path / f"run{k}")).exit_code == 0
    files = sorted(p.relative_to(tmp_path / "run1") for p in (tmp_path / "run1").rglob("*.mrc"))
    assert len(files) == 6 + 2
    for rel in files:
        a, b = ((tmp_path / run / rel).read_bytes() for run in ("run1", "run2"))
        assert a == b, rel
    star = "particles.star"
    assert (tmp_path / "run1" / star).read_bytes() == (tmp_path / "run2" / star).read_bytes()
    assert run(*args[:-len(SMALL)], "--seed", "8", *SMALL, "--out",
               str(tmp_path / "run3")).exit_code == 0
    a = (tmp_path / "run1" / "subtomograms" / "p000001.mrc").read_bytes()
    assert a != (tmp_path / "run3" / "subtomograms" / "p000001.mrc").read_bytes()


def test_truth_pose_from_star_maps_noise_free_particles_onto_the_template(tmp_path):
    """Noise-free (SNR ∞), no missing wedge (tilts −90…90), fourier mode: each particle is the
    CTF-filtered posed density. Reading its pose back from particles.star (io.ParticleSet →
    pose_from_relion) and applying the inverse pose with rigid_transform must reproduce the
    class's template (the CTF-filtered, unposed density) — compared by Pearson correlation."""
    config = SimulationConfig(mode="fourier", snr=math.inf, tilt_min=-90, tilt_max=90, box=32,
                              max_shift=6, integer_shifts=False, normalize="none", seed=3)
    structures = [load_structure("1qvr"), load_structure("4v4r_30S")]
    simulate_to_directory(tmp_path / "sim", structures, 4, config)
    ps = ParticleSet.from_star(tmp_path / "sim" / "particles.star")
    assert ps.pixel_size == 12.0
    rot, shift = ps.poses()
    rot_inv, shift_inv = invert_pose(rot, shift)
    particles = torch.stack([ps[i] for i in range(len(ps))]).double()
    back = rigid_transform(particles, torch.as_tensor(rot_inv), torch.as_tensor(shift_inv))
    templates = {k: mrcfile.read(tmp_path / "sim" / "references" / f"class0{k}_{s.name}.mrc")
                 for k, s in enumerate(structures, start=1)}
    for i, k in enumerate(ps.class_numbers()):
        r = np.corrcoef(back[i].numpy().ravel(), templates[int(k)].ravel())[0, 1]
        assert r > 0.95, (i, k, r)
        wrong = templates[3 - int(k)]
        assert r > np.corrcoef(back[i].numpy().ravel(), wrong.ravel())[0, 1]


def test_tiltseries_default_mode_runs(tmp_path):
    res = run("--structure", "1qvr", "--n-per-class", "2", "--snr", "1", "--tilt-range", "-40",
              "60", "--normalize", "particle", "--out", str(tmp_path / "ts"), *SMALL)
    assert res.exit_code == 0, res.output
    star = starfile.read(tmp_path / "ts" / "particles.star", always_dict=True)["particles"]
    assert set(star["jimnetTiltMin"]) == {-40.0} and set(star["jimnetTiltMax"]) == {60.0}
    meta = json.loads((tmp_path / "ts" / "simulation.json").read_text())
    assert meta["parameters"]["mode"] == "tiltseries" and meta["imaging"]["n_tilts"] == 21
    vol = mrcfile.read(tmp_path / "ts" / "subtomograms" / "p000001.mrc")
    assert abs(vol.mean()) < 1e-5 and vol.std() == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--structure", "nope"), "unknown structure name"),
        (("--structure", "/does/not/exist.pdb"), "not found"),
        (("--benchmark", "paper", "--box", "4"), "box"),
        (("--benchmark", "paper", "--snr", "0"), "must be > 0"),
        (("--benchmark", "paper", "--snr", "-1"), "must be > 0"),
        (("--benchmark", "paper", "--snr", "abc"), "not a number"),
        (("--benchmark", "paper", "--tilt-range", "-95", "60"), "tilt range"),
        (("--benchmark", "paper", "--tilt-range", "30", "30"), "tilt range"),
        (("--benchmark", "paper", "--max-shift-vox", "20"), "max shift"),
        ((), "--benchmark paper"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    res = run(*args, "--out", str(out), "--quiet")
    assert res.exit_code == 2
    assert message in res.output and res.output.count("\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_refuses_non_empty_output_and_force_replaces(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    args = ("--structure", "1qvr", "--n-per-class", "1", "--mode", "fourier", *SMALL)
    assert run(*args, "--out", str(out)).exit_code == 0  # empty directory is fine
    res = run(*args, "--out", str(out))
    assert res.exit_code == 2 and "not empty" in res.output
    assert run(*args, "--out", str(out), "--force").exit_code == 0


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    import jimnet.simulate.output as output

    calls = {"n": 0}
    real = output.write_volume

    def failing(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*a, **k)

    monkeypatch.setattr(output, "write_volume", failing)
    config = SimulationConfig(mode="fourier", box=16, max_shift=3, normalize="particle")
    with pytest.raises(OSError, match="disk full"):
        simulate_to_directory(tmp_path / "out", [load_structure("1qvr")], 4, config)
    assert list(tmp_path.iterdir()) == []


def test_registered_in_the_jimnet_app(tmp_path):
    from jimnet.cli.main import app

    res = CliRunner().invoke(app, ["simulate", "--structure", "1qvr", "--n-per-class", "1",
                                   "--mode", "fourier", "--out", str(tmp_path / "o"), *SMALL])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "particles.star").is_file()
