"""kamalnb's tables as JupyterLab shows them, in headless Chromium: no text typeset as
LaTeX, `$` shown verbatim, commands left-aligned. Plan mode only: no host is needed.

Screenshots go to $KAMALNB_SCREENSHOTS (default: the test's temporary directory).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ui.lab import CHROMIUM, CHROMIUM_ARGS, jupyterlab, require_browser, run_all

playwright = require_browser()
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[2]

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


def notebook(path: Path) -> None:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    book.cells = [nbformat.v4.new_code_cell(source.strip(), metadata={"tags": [tag]}) for tag, source in CELLS.items()]
    nbformat.write(book, path)


@pytest.fixture
def lab(tmp_path):
    notebook(tmp_path / "tables.ipynb")
    env = {**os.environ, "KAMALNB_PLAN": "1", "KAMALNB_SANDBOX_ROOT": str(tmp_path / "no-sandbox")}
    env.pop("KAMALNB_UI", None)
    with jupyterlab(tmp_path, env) as url:
        yield url.format(workspace="tables", path="tables.ipynb")


def test_tables_show_every_dollar_verbatim_and_commands_left_aligned(lab, tmp_path):
    shots = Path(os.environ.get("KAMALNB_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            run_all(page, lab, timeout_ms=60_000)
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

