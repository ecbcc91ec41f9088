"""The runbooks as a user runs them: JupyterLab in headless Chromium, Run All Cells, against
the sandbox's hosts. `01-setup`, `02-deploy` and `03-rollback` in order, then a deploy of a
version that never becomes healthy. What the user sees is asserted in the page: boards whose
rows end green (red for the failure), a report with a row per host, no error output, nothing
typeset as LaTeX, no widget or console errors.

Screenshots go to $KAMALNB_SCREENSHOTS (default: the test's temporary directory).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.steps.conftest import sample  # noqa: F401  (the fixture: a clone of the sandbox's sample app)
from tests.ui.lab import CHROMIUM, CHROMIUM_ARGS, jupyterlab, require_browser, run_all

playwright = require_browser()
nbformat = pytest.importorskip("nbformat")

pytestmark = pytest.mark.sandbox

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
RUNBOOKS = [name for name in ("01-setup.ipynb", "02-deploy.ipynb", "03-rollback.ipynb") if (NOTEBOOKS / name).exists()]
NEVER_HEALTHY = "never-healthy.ipynb"


def with_parameters(source: Path, target: Path, parameters: dict[str, object]) -> None:
    """A copy of a runbook whose `parameters` cell ends with these values, as papermill does."""
    notebook = nbformat.read(source, as_version=4)
    cell = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    cell.source += "".join(f"\n{key} = {value!r}" for key, value in parameters.items())
    nbformat.write(notebook, target)


def failing_deploy(target: Path, config_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(f"import kamalnb\napp = kamalnb.load({str(config_path)!r})"),
                      nbformat.v4.new_code_cell("app.deploy()")]
    nbformat.write(notebook, target)


@pytest.fixture(scope="module")
def lab(sample, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("lab")
    config_path = sample.path / "config" / "deploy.yml"
    for name in RUNBOOKS:
        with_parameters(NOTEBOOKS / name, root / name, {"config_path": str(config_path)})
    failing_deploy(root / NEVER_HEALTHY, config_path)
    env = {key: value for key, value in os.environ.items() if key not in ("KAMALNB_UI", "KAMALNB_PLAN", "VERSION")}
    with jupyterlab(root, env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Seen:
    """One notebook run in the browser: the page, and the console errors it logged."""

    def __init__(self, browser, url: str, shots: Path, name: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.console_errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        self.missing: list[str] = []
        self.page.on("response", lambda response: response.status == 404 and self.missing.append(response.url))
        try:
            run_all(self.page, url.format(workspace=Path(name).stem, path=name))
            # The first step's cell as a user sees it: the board above its report (the
            # README's picture is the deploy runbook's).
            boards = self.page.locator(".jp-CodeCell").filter(has=self.page.locator(".widget-hprogress"))
            if boards.count():
                boards.first.scroll_into_view_if_needed()
                self.page.wait_for_timeout(1000)  # cells scrolled in are drawn after the scroll
                self.page.screenshot(path=shots / f"{Path(name).stem}-board.png")
        finally:
            self.page.screenshot(path=shots / f"{Path(name).stem}.png", full_page=True)

    def _console(self, message) -> None:
        # A 404 is logged twice, as a console error and as a response: kept as the response's URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()

    def text(self) -> str:
        return self.page.locator(".jp-Notebook").text_content()

    def bars(self, settled: Callable[[list[tuple[str, str]]], bool], wait: float = 10.0) -> list[tuple[str, str]]:
        """Every board row's bar style (success: green, danger: red, info, or none) and its
        text, once `settled` holds or `wait` seconds passed: the last widget updates reach the
        page a moment after the cell ends."""
        deadline = time.monotonic() + wait
        while True:
            bars = [tuple(bar) for bar in self.page.eval_on_selector_all(
                ".widget-hprogress",
                "bars => bars.map(b => [(b.querySelector('.progress-bar').className"
                ".match(/progress-bar-(\\w+)/) || [, 'none'])[1], b.parentElement.textContent])")]
            if settled(bars) or time.monotonic() > deadline:
                return bars
            self.page.wait_for_timeout(250)

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    path = Path(os.environ.get("KAMALNB_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def errors_shown(seen: Seen) -> list[str]:
    """What the cells show on stderr; a host's log inside a board (Docker's pull progress on
    stderr, say) is the host's, not an error of the notebook."""
    return seen.page.eval_on_selector_all(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
        "nodes => nodes.filter(n => !n.closest('.jupyter-widgets')).map(n => n.textContent)")


@pytest.mark.parametrize("name", RUNBOOKS)
def test_a_runbook_runs_to_the_end_with_green_boards_and_a_row_per_host(name, lab, browser, shots, sample):  # noqa: F811
    seen = Seen(browser, lab, shots, name)
    try:
        assert errors_shown(seen) == []
        assert seen.count("mjx-container, .MathJax") == 0
        assert seen.console_errors == []
        assert seen.missing == []
        text = seen.text()
        assert "Error displaying widget" not in text and "Traceback" not in text
        # Every row green, or plain where the step had nothing to do there (an accessory
        # that already runs is skipped, as Kamal skips it).
        def ended(bars: list[tuple[str, str]]) -> list[tuple[str, str]]:
            return [(style, row) for style, row in bars
                    if style != "success" and not (style == "none" and "skipped" in row)]

        bars = seen.bars(lambda bars: bool(bars) and not ended(bars))
        assert bars and not ended(bars), ended(bars)
        hosts = [host.address for host in sample.sandbox.hosts]
        reports = seen.page.locator(".kamalnb-report")
        assert reports.count() >= 1
        report = reports.last.text_content()
        assert all(host in report for host in hosts)
    finally:
        seen.close()


def test_a_version_that_never_becomes_healthy_ends_red_with_its_attempts_and_logs(lab, browser, shots, sample):  # noqa: F811
    sample.edit_config(lambda data: data["builder"]["args"].update(NEVER_HEALTHY=1))
    try:
        seen = Seen(browser, lab, shots, NEVER_HEALTHY)
        try:
            # The hosts' rows first (their checks before the build come first), the web rows
            # red; the build's row green; the worker, after the primary role failed, never
            # started (its bar plain, its status "skipped").
            expected = ["danger", "danger", "danger", "success", "none"]
            def styles(bars: list[tuple[str, str]]) -> list[str]:
                return [style for style, _ in bars]

            assert styles(seen.bars(lambda bars: styles(bars) == expected)) == expected
            assert "skipped" in seen.text()
            shown = "\n".join(errors_shown(seen))
            assert "did not become healthy" in shown and "/up (app_port 80)" in shown
            assert " 404" in shown  # each health-check attempt with what came back
            assert "last log lines of" in shown
            assert "Traceback" not in shown and "File " not in shown
            assert seen.count("mjx-container, .MathJax") == 0
            assert seen.console_errors == []
        finally:
            seen.close()
    finally:
        sample.edit_config(lambda data: data["builder"]["args"].pop("NEVER_HEALTHY"))
