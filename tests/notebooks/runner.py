"""Runs a notebook headless in a real kernel, as papermill and nbmake do, with its
`parameters` cell given new values and every outgoing TCP connection of the kernel recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

# Runs in the kernel before the notebook: every TCP connection attempt (paramiko's included)
# is recorded, and with `refuse` fails at once instead of waiting for an unreachable host.
RECORD_CONNECTIONS = """
import socket as _socket

_kamalnb_test_connections = []
_kamalnb_test_connect = _socket.socket.connect
_kamalnb_test_connect_ex = _socket.socket.connect_ex


def _kamalnb_test_record(address, refuse):
    _kamalnb_test_connections.append(repr(address))
    if refuse:
        raise ConnectionRefusedError(f"the test refuses connections (to {address!r})")


def _kamalnb_test_connect_recorded(sock, address):
    if sock.family in (_socket.AF_INET, _socket.AF_INET6):
        _kamalnb_test_record(address, {refuse})
    return _kamalnb_test_connect(sock, address)


def _kamalnb_test_connect_ex_recorded(sock, address):
    if sock.family in (_socket.AF_INET, _socket.AF_INET6):
        _kamalnb_test_record(address, {refuse})
    return _kamalnb_test_connect_ex(sock, address)


_socket.socket.connect = _kamalnb_test_connect_recorded
_socket.socket.connect_ex = _kamalnb_test_connect_ex_recorded
"""

REPORT_CONNECTIONS = """
import json as _json
print("CONNECTIONS=" + _json.dumps(_kamalnb_test_connections))
"""


class Executed:
    """An executed notebook: its cells by tag, their outputs as text and HTML."""

    def __init__(self, notebook: NotebookNode) -> None:
        self.notebook = notebook

    @property
    def code_cells(self) -> list[NotebookNode]:
        return [cell for cell in self.notebook.cells if cell.cell_type == "code"]

    def cell(self, tag: str) -> NotebookNode:
        tagged = [cell for cell in self.notebook.cells if tag in cell.metadata.get("tags", [])]
        assert len(tagged) == 1, f"expected one cell tagged {tag!r}, found {len(tagged)}"
        return tagged[0]

    def html(self, tag: str) -> list[str]:
        return [output["data"]["text/html"] for output in self.cell(tag).outputs
                if "text/html" in output.get("data", {})]

    def text(self, tag: str) -> str:
        """Everything a text-only viewer shows of the cell: streams and text/plain."""
        parts = []
        for output in self.cell(tag).outputs:
            if output["output_type"] == "stream":
                parts.append(output["text"])
            elif "text/plain" in output.get("data", {}):
                parts.append(output["data"]["text/plain"])
        return "\n".join(parts)

    def final_html(self, tag: str) -> str:
        """The last HTML the cell shows: a step's report, which replaced its live table."""
        html = self.html(tag)
        assert html, f"cell {tag!r} shows no HTML"
        return html[-1]

    def errors(self) -> list[str]:
        return [f"{output['ename']}: {output['evalue']}" for cell in self.code_cells
                for output in cell.outputs if output["output_type"] == "error"]

    def widget_models(self, model_name: str) -> list[dict[str, Any]]:
        """The saved state of every widget of that model (e.g. FloatProgressModel)."""
        state = self.notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
        return [model for model in state.get("state", {}).values() if model["model_name"] == model_name]

    def connections(self) -> list[str]:
        last = self.code_cells[-1]
        line = next(o["text"] for o in last.outputs if o["output_type"] == "stream" and "CONNECTIONS=" in o["text"])
        return json.loads(line.split("CONNECTIONS=", 1)[1])


def execute(name: str, parameters: dict[str, Any], *, refuse_connections: bool = False,
            timeout: int = 240) -> Executed:
    """Run notebooks/<name> in its own directory with `parameters` set after the defaults."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", []), "the first code cell must be tagged `parameters`"
    first.source += "".join(f"\n{key} = {value!r}" for key, value in parameters.items())
    notebook.cells.insert(0, nbformat.v4.new_code_cell(RECORD_CONNECTIONS.replace("{refuse}", str(refuse_connections))))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT_CONNECTIONS))
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    except CellExecutionError as failure:
        # Cell 0 is the connection recorder: numbers count the notebook's own cells from 1.
        index, cell = next((i, c) for i, c in enumerate(notebook.cells)
                           if any(o.get("output_type") == "error" for o in c.get("outputs", [])))
        tags = ", ".join(cell.metadata.get("tags", [])) or "untagged"
        raise AssertionError(f"{name}: cell {index} ({tags}) failed: {failure.ename}: {failure.evalue}") from None
    return Executed(notebook)


def execute_without_hosts(name: str, environment: dict[str, str], tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> Executed:
    """Run notebooks/<name> as Binder (`KAMALNB_PLAN=1`) or a machine with no sandbox runs it,
    every connection refused: it must end without an error, having connected nowhere."""
    monkeypatch.setenv("KAMALNB_SANDBOX_ROOT", str(tmp_path / "no-sandbox-here"))
    for variable in ("KAMALNB_UI", "KAMALNB_PLAN", "VERSION"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    run = execute(name, {}, refuse_connections=True, timeout=60)
    assert run.errors() == []
    assert run.connections() == []
    return run
