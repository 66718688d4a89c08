import json

import pytest
import typer
from typer.testing import CliRunner

from jimnet.cli.average import average_command
from jimnet.io import read_volume
from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "set"
    cfg = SimulationConfig(mode="fourier", snr=10.0, box=20, voxel_size=20.0, resolution=30.0,
                           max_shift=2.0, seed=5, normalize="particle")
    simulate_to_directory(out, [load_structure("1qvr"), load_structure("3jb9")], 6, cfg)
    return out


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("average")(average_command)
    app.command("other")(lambda: None)
    return app


def test_cli_average_with_star_poses(simulated, tmp_path):
    refs = sorted((simulated / "references").glob("*.mrc"))
    out = tmp_path / "avg"
    args = ["average", str(simulated / "particles.star"), "--out", str(out), "--device", "cpu",
            "--quiet", *[a for r in refs for a in ("--reference", str(r))]]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    for k in (1, 2):
        for name in (f"class_{k:03d}", f"class_{k:03d}_half1", f"class_{k:03d}_half2"):
            vol, voxel = read_volume(out / f"{name}.mrc")
            assert vol.shape == (20, 20, 20) and voxel == pytest.approx(20.0)
        for name in (f"fsc_{k:03d}.csv", f"fsc_{k:03d}_reference.csv"):
            header = (out / name).read_text().splitlines()[0]
            assert header == "frequency_per_voxel,frequency_per_angstrom,resolution_angstrom,fsc"
    assert (out / "fsc.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert [c["n_particles"] for c in summary["classes"]] == [6, 6]
    for c in summary["classes"]:
        # truth poses → the averages match their templates well below Nyquist (40 Å)
        assert c["resolution_vs_reference_angstrom"] < 80.0
        assert not any(key.endswith("_nm") for key in c)  # resolutions in Å only
    again = CliRunner().invoke(_app(), args)
    assert again.exit_code == 2


def test_cli_average_rejects_reference_count(simulated, tmp_path):
    ref = next((simulated / "references").glob("*.mrc"))
    args = ["average", str(simulated / "particles.star"), "--out", str(tmp_path / "x"),
            "--device", "cpu", "--quiet", "--reference", str(ref), "--reference", str(ref),
            "--reference", str(ref)]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 2 and "one per class" in res.output
