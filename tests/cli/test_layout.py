"""The package layout the README's module map promises: commands are thin and independent,
and prediction does not depend on training code."""

import ast
import subprocess
import sys
from pathlib import Path

import jimnet.cli

CLI_DIR = Path(jimnet.cli.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_command_module_imports_another():
    shared = {"jimnet.cli", "jimnet.cli.common"}
    for path in sorted(CLI_DIR.glob("*.py")):
        if path.name in ("main.py", "common.py", "__init__.py"):
            continue
        others = {m for m in _imported_modules(path)
                  if m.startswith("jimnet.cli") and m not in shared
                  and not m.startswith("jimnet.cli.common.")}
        assert not others, f"{path.name} imports {sorted(others)}"


def test_predict_loads_no_training_module():
    code = ("import sys, jimnet.predict, jimnet.cli.predict; "
            "print(sorted(m for m in sys.modules if m.startswith('jimnet.train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
