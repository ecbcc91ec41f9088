"""The main job: the runbook notebooks run headless, in order, against a running sandbox
(setup, deploy and a new version, rollback, fleet inspection, Kamal's internals), each saved
as HTML next to it; then a summary of the runs and the fleet as it ends."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from kamalnb.errors import SandboxError
from kamalnb.sandbox.fleet import Sandbox

RUNBOOKS = ("01-setup.ipynb", "02-deploy.ipynb", "03-rollback.ipynb", "04-fleet-inspection.ipynb",
            "05-kamal-internals.ipynb")
CELL_TIMEOUT = 600


@dataclass(frozen=True)
class Run:
    notebook: str
    cells: int
    seconds: float
    html: Path
    error: str = ""


def notebooks_dir() -> Path:
    """The runbooks next to kamalnb's sources (a checkout, as `scripts/demo` runs it)."""
    directory = Path(__file__).resolve().parents[2] / "notebooks"
    if not (directory / RUNBOOKS[0]).is_file():
        raise SandboxError(f"the runbooks are not at {directory}: run the demo from a kamalnb checkout")
    return directory


def run_runbook(path: Path, sandbox: Sandbox) -> Run:
    """Execute one runbook in a fresh kernel against `sandbox`; save it as HTML beside it.
    A failing cell stops the run, and the saved HTML shows it."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    notebook = nbformat.read(path, as_version=4)
    error = ""
    started = time.monotonic()
    try:
        NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError as failure:
        error = _first_error(notebook) or str(failure).strip().splitlines()[0]
    seconds = time.monotonic() - started
    html, _ = HTMLExporter().from_notebook_node(notebook)
    target = path.with_suffix(".html")
    target.write_text(html)
    cells = sum(1 for cell in notebook.cells if cell.cell_type == "code" and cell.get("execution_count"))
    return Run(path.name, cells, seconds, target, error)


def _first_error(notebook: object) -> str:
    for index, cell in enumerate(getattr(notebook, "cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index + 1}: {output['ename']}: {output['evalue']}"
    return ""


def run(sandbox: Sandbox) -> list[Run]:
    """Every runbook in order; stops at the first that fails, since the next builds on it."""
    directory = notebooks_dir()
    # The kernels inherit these: the runbooks find this sandbox, run for real, show boards.
    os.environ.update({"KAMALNB_SANDBOX": sandbox.name, "KAMALNB_PLAN": "0"})
    os.environ.pop("KAMALNB_UI", None)
    runs: list[Run] = []
    for name in RUNBOOKS:
        print(f"== {name}", flush=True)
        result = run_runbook(directory / name, sandbox)
        runs.append(result)
        outcome = f"FAILED at {result.error}" if result.error else "ok"
        print(f"   {outcome}: {result.cells} cells in {result.seconds:.1f} s, saved as {result.html}", flush=True)
        if result.error:
            break
    return runs


def summary(runs: list[Run]) -> str:
    rows = [("runbook", "cells", "seconds", "outcome", "saved as")]
    rows += [(r.notebook, str(r.cells), f"{r.seconds:.1f}", r.error or "ok", str(r.html)) for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def fleet(sandbox: Sandbox) -> str:
    """Which version serves where, and the proxy's routes, as the runbooks left them."""
    from kamalnb.app import load

    app = load(sandbox.app_dir / "config" / "deploy.yml", root=sandbox.app_dir)
    try:
        versions = app.versions()[["role", "host", "version", "mixed"]].to_string(index=False)
        routes = app.proxy.routes()[["host", "route", "upstream", "in_flight"]].to_string(index=False)
    finally:
        app.close()
    return f"{versions}\n\n{routes}"
