"""The prepared GPU paper run works end to end at smoke scale on the CPU."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "paper_run_gpu.sh"


def test_paper_run_script_smoke(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "SMOKE": "1", "SNRS_OVERRIDE": "100", "METHODS": "gumnet",
           "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(SCRIPT), str(out)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    readme = (out / "README.md").read_text()
    assert "--network-config default" in readme and "--network-config paper" in readme
    assert readme.count("| Gum-Net |") == 2
    for config in ("default", "paper"):
        assert f'"network_config": "{config}"' in (out / config / "results.json").read_text()
