import re

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from jimnet.cli.align import align_command
from jimnet.geometry import geodesic_angle_deg
from jimnet.io import ParticleSet
from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "set"
    cfg = SimulationConfig(mode="fourier", snr=100.0, box=20, voxel_size=20.0, resolution=30.0,
                           max_shift=2.0, integer_shifts=False, seed=3, normalize="particle")
    simulate_to_directory(out, [load_structure("1qvr")], 3, cfg)
    return out


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("align")(align_command)
    app.command("other")(lambda: None)  # keep "align" as a subcommand
    return app


def test_cli_align_round_trip(simulated, tmp_path):
    ref = next((simulated / "references").glob("*.mrc"))
    out = tmp_path / "aligned.star"
    args = ["align", str(simulated / "particles.star"), "--reference", str(ref), "--out",
            str(out), "--method", "ht", "--angular-step", "30", "--candidates", "3", "--device",
            "cpu", "--quiet"]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    truth = ParticleSet.from_star(simulated / "particles.star")
    found = ParticleSet.from_star(out)
    assert set(truth.table.columns) <= set(found.table.columns)
    assert "jimnetAlignScore" in found.table.columns
    r_true, t_true = truth.poses()
    r_found, t_found = found.poses()
    assert float(geodesic_angle_deg(r_true, r_found).max()) < 5.0
    assert float(np.linalg.norm(t_true - t_found, axis=1).max()) < 0.5
    # no overwrite without --force: one-line error, exit status 2
    again = CliRunner().invoke(_app(), args)
    assert again.exit_code == 2 and "use --force" in again.output
    # without --quiet: the errors against the STAR's own (true) poses are printed
    loud = CliRunner().invoke(_app(), [a for a in args if a != "--quiet"] + ["--force"])
    assert loud.exit_code == 0, loud.output
    text = " ".join(loud.output.split())
    value = float(re.search(r"vs the poses in .*?\(symmetry C1\): ‖ΔR‖_F (\d+\.\d+)",
                            text).group(1))
    assert value < 0.1
