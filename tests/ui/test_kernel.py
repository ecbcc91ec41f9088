"""The views in a real kernel run headless (as papermill and nbmake run notebooks): the
saved notebook must hold the final table, not bars frozen at their first state."""

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

SETUP = """
import os
os.environ.pop("KAMALNB_UI", None)
from kamalnb.ui import detect
print(detect())
"""

STEP = """
import threading
from kamalnb.errors import HealthCheckFailed
from kamalnb.events import Events, HostFinished, HostStarted, OutputLine, StepFinished, StepStarted
from kamalnb.results import HostOutcome, Report
from kamalnb.ui import listener_for

events = Events(listener_for())
hosts = ["web-1", "web-2", "web-3"]
# web-3 is not announced: its row (and widgets) are made from its worker thread.
events.emit(StepStarted("deploy", tuple(hosts[:2])))

def boot(host):
    for phase in ("connect", "pull", "start", "health", "switch", "drain", "stop"):
        events.emit(HostStarted(host, phase, "web"))
        events.emit(OutputLine(host, "stdout", f"{phase} on {host}"))
        failed = host == "web-3" and phase == "health"
        events.emit(HostFinished(host, phase, "web", ok=not failed, error="unhealthy" if failed else None))
        if failed:
            return

threads = [threading.Thread(target=boot, args=(host,)) for host in hosts]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
report = Report("deploy", [HostOutcome("web-1", "web"), HostOutcome("web-2", "web"),
                           HostOutcome("web-3", "web").fail(HealthCheckFailed("web-3", "unhealthy"))])
events.emit(StepFinished("deploy", False, 2.0, report))
"""


def test_a_headless_kernel_keeps_the_final_report_in_the_cell_outputs():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(STEP)]
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()

    assert notebook.cells[0].outputs[0]["text"].strip() == "widgets"
    outputs = notebook.cells[1].outputs
    board, summary = outputs
    assert board["output_type"] == "display_data"
    assert "application/vnd.jupyter.widget-view+json" in board["data"]
    assert board["data"]["text/plain"] == "kamalnb deploy (live widgets; the table below holds the outcome)"
    html = summary["data"]["text/html"]
    assert html.startswith("<div class='kamalnb-report'><strong>deploy: 2 ok, 1 failed")
    assert "unhealthy" in html
    assert summary["data"]["text/plain"].startswith("deploy: 2 ok, 1 failed")
    widget_state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [model["state"] for model in widget_state.values() if model["model_name"] == "FloatProgressModel"]
    assert sorted((bar["value"], bar["bar_style"]) for bar in bars) == [(0.5, "danger"), (1.0, "success"), (1.0, "success")]


FAILING = """
from kamalnb.errors import HostError
from kamalnb.ui import listener_for

listener_for().close()
raise HostError("web-1", "Docker is not running: start it with `systemctl start docker`")
"""


def test_in_a_kernel_kamalnb_errors_show_their_message_and_no_traceback():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(FAILING), nbformat.v4.new_code_cell("raise ValueError('other')")]
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True)
    client.execute()

    error = notebook.cells[0].outputs[-1]
    assert (error["output_type"], error["ename"]) == ("error", "HostError")
    assert error["traceback"] == ["\x1b[0;31mHostError\x1b[0m: web-1: Docker is not running: start it with "
                                  "`systemctl start docker`"]
    other = notebook.cells[1].outputs[-1]
    assert other["ename"] == "ValueError" and len(other["traceback"]) > 1  # other errors keep theirs
