"""kamalnb's tables as JupyterLab shows them, in headless Chromium: no text typeset as
LaTeX, `$` shown verbatim, commands left-aligned. Plan mode only: no host is needed.

Screenshots go to $KAMALNB_SCREENSHOTS (default: the test's temporary directory).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's chromium: apt-get install chromium", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("jupyterlab")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

CELLS = {
    "plan": f"""
import kamalnb
app = kamalnb.load({str(ROOT / "examples/hey/config/deploy.yml")!r})
plan = app.deploy(plan=True)
plan.to_frame()""",
    "report": "plan.report.to_frame()",
    "state": """
from datetime import datetime, UTC
from kamalnb.state.base import frame
frame([{"host": "web-1", "command": "docker rm $(docker ps -q) && echo ${line#sample-web-}", "created": datetime.now(UTC),
        "error": None}], ["host", "command", "created", "error"], times=("created",))""",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def notebook(path: Path) -> None:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    book.cells = [nbformat.v4.new_code_cell(source.strip(), metadata={"tags": [tag]}) for tag, source in CELLS.items()]
    nbformat.write(book, path)


@pytest.fixture
def lab(tmp_path):
    token = secrets.token_hex(16)
    port = free_port()
    notebook(tmp_path / "tables.ipynb")
    env = {**os.environ, "KAMALNB_PLAN": "1", "KAMALNB_SANDBOX_ROOT": str(tmp_path / "no-sandbox")}
    env.pop("KAMALNB_UI", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.5)
    try:
        yield f"{base}/lab/tree/tables.ipynb?token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_tables_show_every_dollar_verbatim_and_commands_left_aligned(lab, tmp_path):
    shots = Path(os.environ.get("KAMALNB_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(lab)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.get_by_text("| Idle").wait_for(timeout=60_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            page.wait_for_function(
                "document.querySelectorAll('.jp-OutputArea-output table').length >= 2", timeout=60_000)
            page.wait_for_timeout(2000)  # MathJax typesets asynchronously after the output appears
            outputs = page.locator(".jp-Cell-outputArea")
            for index in range(outputs.count()):
                outputs.nth(index).screenshot(path=shots / f"output-{index}.png")

            assert page.locator("mjx-container, .MathJax").count() == 0
            text = page.locator(".jp-Notebook").inner_text()
            assert "echo ${line#sample-web-}" in text and "docker rm $(docker ps -q)" in text
            assert "Traceback" not in text
            command = page.locator("td", has_text="docker rm $(docker ps -q)").first
            assert command.evaluate("cell => getComputedStyle(cell.firstElementChild).textAlign") == "left"
            cell_width = page.locator(".jp-Cell-outputArea").first.bounding_box()["width"]
            plan_table = page.locator(".jp-OutputArea-output table").first.bounding_box()["width"]
            assert plan_table <= cell_width * 1.05
        finally:
            page.screenshot(path=shots / "notebook.png", full_page=True)
            browser.close()

