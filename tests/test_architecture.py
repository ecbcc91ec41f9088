"""The layers stay apart: the API above the steps, and start-up free of what it does not use."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kamalnb"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_nothing_below_the_api_imports_it() -> None:
    api = {"kamalnb.app", "kamalnb.verbs", "kamalnb.App", "kamalnb.load"}
    for layer in ("steps", "state", "executors", "commands", "config", "proxy", "facts.py", "fanout.py"):
        for path in (PACKAGE / layer).rglob("*.py") if (PACKAGE / layer).is_dir() else [PACKAGE / layer]:
            assert not imported_modules(path) & api, f"{path.relative_to(PACKAGE)} imports the API layer"


def test_import_kamalnb_loads_neither_pandas_nor_paramiko_nor_the_steps() -> None:
    code = ("import sys, kamalnb; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'paramiko', 'ipywidgets') or m.startswith('kamalnb.steps')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_command_line_help_loads_no_step_and_no_sandbox() -> None:
    code = ("import sys; sys.argv = ['kamalnb', '--help']\nfrom kamalnb.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in sys.modules if m.startswith(('kamalnb.steps', 'kamalnb.sandbox.fleet', "
            "'pandas', 'paramiko'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "LOADED []"


def test_every_part_of_the_package_imports_on_its_own() -> None:
    parts = sorted(
        f"kamalnb.{path.stem if path.is_file() else path.name}" for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem not in ("__init__", "__main__")) or (path / "__init__.py").is_file())
    code = "import importlib, sys; importlib.import_module(sys.argv[1])"
    failed = {part: result.stderr.strip().splitlines()[-1:] for part in parts
              if (result := subprocess.run([sys.executable, "-c", code, part], capture_output=True, text=True)).returncode}
    assert failed == {}
