"""JupyterLab on loopback with a temporary root, and Debian's chromium driven by Playwright,
for the tests that look at what a user sees."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_browser() -> Any:
    """Playwright's sync API, or the test module skipped with what to install."""
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium: apt-get install chromium", allow_module_level=True)
    playwright = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")
    pytest.importorskip("jupyterlab")
    return playwright


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, env: dict[str, str]) -> Iterator[str]:
    """A JupyterLab serving `root`; yields a notebook's URL to format with `workspace` and `path`."""
    token = secrets.token_hex(16)
    port = free_port()
    # Every cell drawn, none left to draw on scroll: what the tests read and the screenshots
    # show is the whole notebook.
    settings = root / ".lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text('{"windowingMode": "none"}')
    env = {**env, "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        # A workspace of its own per notebook, reset: only that notebook open, its kernel the
        # one the Run menu acts on.
        yield f"{base}/lab/workspaces/{{workspace}}/tree/{{path}}?reset&token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_all(page: Any, url: str, *, timeout_ms: int = 300_000) -> None:
    """Open a notebook and run all its cells; returns when none is running any more (the
    last one has run, or one failed and stopped the rest)."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.get_by_text("| Idle").wait_for(timeout=60_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
        const failed = document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
        return prompts.length > 0 && !prompts.some(p => p.includes('*'))
            && (failed !== null || /\\[\\d+\\]/.test(prompts[prompts.length - 1]));
    }""", timeout=timeout_ms, polling=500)
    page.wait_for_timeout(2000)  # MathJax typesets asynchronously after the outputs appear
    news = page.get_by_text("Would you like to get notified about official Jupyter news?")
    if news.count():  # JupyterLab's first-run question would cover part of the screenshots
        page.get_by_role("button", name="No", exact=True).click()
