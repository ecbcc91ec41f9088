"""notebooks/02-deploy.ipynb executed headless: against the sandbox (deploy, new version,
rollback) and in plan mode with no host at all, as Binder runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import nbformat

from tests.notebooks.runner import NOTEBOOKS, execute, execute_without_hosts
from tests.steps.conftest import sample  # noqa: F401  (the fixture: a clone of the sandbox's sample app)

NOTEBOOK = "02-deploy.ipynb"
BINDER_START = Path(__file__).resolve().parents[2] / "binder" / "start"


@pytest.mark.parametrize("environment", [{}, {"KAMALNB_PLAN": "1"}], ids=["no-sandbox", "binder"])
def test_with_no_host_the_runbook_plans_every_step_and_connects_nowhere(environment, tmp_path, monkeypatch):
    run = execute_without_hosts(NOTEBOOK, environment, tmp_path, monkeypatch)
    assert "PLAN MODE" in run.text("setup") and "examples/hey" in run.text("setup")
    assert "First version: v1; then v2" in run.text("load")

    plan_html = "\n".join(run.html("plan"))
    for column in ("host", "phase", "kind", "command"):
        assert f"<th>{column}</th>" in plan_html
    assert "docker pull registry.example.com/acme/hey:v1" in plan_html
    assert "docker run --detach --restart unless-stopped --name hey-web-v1" in plan_html
    for host in ("192.0.2.10", "192.0.2.11", "192.0.2.12"):
        assert host in plan_html
    assert "not-a-real-password" not in plan_html and "[REDACTED]" in plan_html

    assert run.final_html("deploy").startswith("<div class='kamalnb-report'><strong>deploy: 3 planned")
    assert run.final_html("deploy-next").startswith("<div class='kamalnb-report'><strong>deploy: 3 planned")
    assert ">v2<" in run.final_html("deploy-next")
    assert run.final_html("rollback").startswith("<div class='kamalnb-report'><strong>rollback: 3 planned")
    for tag in ("versions-after-deploy", "versions-after-next", "versions-after-rollback", "drift"):
        assert run.text(tag).strip() == f"Plan mode: {'drift' if tag == 'drift' else 'versions'}() reads the hosts, skipped."


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda path: path.name)
def test_committed_notebooks_carry_no_outputs_and_start_with_parameters(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert [(cell.outputs, cell.execution_count) for cell in code] == [([], None)] * len(code)
    assert "widgets" not in notebook.metadata


def test_binder_sessions_start_in_plan_mode():
    environment = {key: value for key, value in os.environ.items() if key != "KAMALNB_PLAN"}
    shown = subprocess.run([str(BINDER_START), sys.executable, "-c", "import os; print(os.environ['KAMALNB_PLAN'])"],
                           env=environment, capture_output=True, text=True, check=True)
    assert shown.stdout == "1\n"


@pytest.mark.sandbox
@pytest.mark.timeout(300)
def test_against_the_sandbox_the_runbook_deploys_a_new_version_and_rolls_back(sample, monkeypatch):  # noqa: F811
    pytest.importorskip("matplotlib", reason="the runbook draws the deploy's timeline")
    monkeypatch.delenv("KAMALNB_UI", raising=False)  # the board and table a user sees in JupyterLab
    monkeypatch.delenv("KAMALNB_PLAN", raising=False)
    monkeypatch.delenv("VERSION", raising=False)
    first = sample.git("rev-parse", "HEAD")
    run = execute(NOTEBOOK, {"config_path": str(sample.path / "config" / "deploy.yml")}, timeout=240)
    second = sample.git("rev-parse", "HEAD")

    assert run.errors() == []
    assert second != first
    assert "PLAN MODE" not in run.text("setup")
    assert f"First version: {first}; then a new commit of the sample app" in run.text("load")

    deployed = run.final_html("deploy")
    assert deployed.startswith("<div class='kamalnb-report'><strong>deploy: 4 ok")
    assert deployed.count(f">{first}<") == 4
    assert "kamalnb-progress" not in deployed and "0%" not in run.text("deploy")
    assert any("image/png" in output.get("data", {}) for output in run.cell("timeline").outputs)
    bars = [model["state"] for model in run.widget_models("FloatProgressModel")]
    assert bars and all(bar["value"] > 0 and bar["bar_style"] != "danger" for bar in bars)

    versions = "\n".join(run.html("versions-after-deploy"))
    assert versions.count(f">{first}<") == 4 and second not in versions

    deployed_next = run.final_html("deploy-next")
    assert deployed_next.startswith("<div class='kamalnb-report'><strong>deploy: 4 ok")
    assert deployed_next.count(f">{second}<") == 4
    versions = "\n".join(run.html("versions-after-next"))
    assert versions.count(f">{second}<") == 4 and f">{first}<" not in versions

    rolled_back = run.final_html("rollback")
    assert rolled_back.startswith("<div class='kamalnb-report'><strong>rollback: 4 ok")
    versions = "\n".join(run.html("versions-after-rollback"))
    assert versions.count(f">{first}<") == 4 and f">{second}<" not in versions

    assert sample.serving() == {host.address: first for host in sample.sandbox.hosts}
