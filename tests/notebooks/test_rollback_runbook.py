"""notebooks/03-rollback.ipynb executed headless: against the sandbox (two versions deployed by
the runbook itself, a rollback to the first, and the refusal of a version no host has) and in
plan mode with no host at all."""

from __future__ import annotations

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tests.notebooks.runner import execute, execute_without_hosts
from tests.steps.conftest import sample  # noqa: F401  (the fixture: a clone of the sandbox's sample app)

NOTEBOOK = "03-rollback.ipynb"
REPORT = "<div class='kamalnb-report'><strong>"


@pytest.mark.parametrize("environment", [{}, {"KAMALNB_PLAN": "1"}], ids=["no-sandbox", "binder"])
def test_with_no_host_the_rollback_runbook_plans_the_rollback_and_connects_nowhere(environment, tmp_path,
                                                                                   monkeypatch):
    run = execute_without_hosts(NOTEBOOK, environment, tmp_path, monkeypatch)
    assert "PLAN MODE" in run.text("setup") and "examples/hey" in run.text("setup")
    assert run.text("prepare").strip() == "Plan mode: nothing to prepare."
    assert run.text("target").strip() == "Rolling back to v1"
    plan_html = "\n".join(run.html("plan"))
    for host in ("192.0.2.10", "192.0.2.11", "192.0.2.12"):
        assert host in plan_html
    assert "docker pull" not in plan_html  # a rollback never pulls
    assert run.final_html("rollback").startswith(f"{REPORT}rollback: 3 planned")
    for tag, table in (("versions-before", "versions"), ("available", "rollback_versions"),
                       ("containers", "containers"), ("versions-after", "versions"), ("requests", "requests"),
                       ("audit", "audit")):
        assert run.text(tag).strip() == f"Plan mode: {table}() reads the hosts, skipped."
    assert run.text("missing").strip() == "Plan mode: a rollback looks for the version on the hosts, skipped."


@pytest.mark.sandbox
@pytest.mark.timeout(300)
def test_against_the_sandbox_the_rollback_runbook_goes_back_to_the_version_every_host_still_has(sample, monkeypatch):  # noqa: F811
    for name in ("KAMALNB_UI", "KAMALNB_PLAN", "VERSION"):
        monkeypatch.delenv(name, raising=False)
    first = sample.git("rev-parse", "HEAD")
    addresses = [host.address for host in sample.sandbox.hosts]
    run = execute(NOTEBOOK, {"config_path": str(sample.path / "config" / "deploy.yml"), "check_path": "/version"},
                  timeout=240)
    second = sample.git("rev-parse", "HEAD")

    assert run.errors() == []
    assert second != first
    prepared = run.text("prepare")
    assert f"Deploying the sample app's current version, {first}" in prepared
    assert f"Deploying a new commit of the sample app, {second}" in prepared

    before = "\n".join(run.html("versions-before"))
    assert before.count(f">{second}<") == 4 and f">{first}<" not in before
    available = "\n".join(run.html("available"))
    assert available.index(f">{second}<") < available.index(f">{first}<")  # newest first
    assert available.count(">4/4<") == 2 and available.count(">True<") == 1
    assert run.text("target").strip() == f"Rolling back to {first}"

    rolled_back = run.final_html("rollback")
    assert rolled_back.startswith(f"{REPORT}rollback: 4 ok")
    assert rolled_back.count(f">{first}<") == 4
    after = "\n".join(run.html("versions-after"))
    assert after.count(f">{first}<") == 4 and f">{second}<" not in after
    requests = "\n".join(run.html("requests"))
    assert requests.count(">200<") == 3 and requests.count(f">{first}<") == 3
    assert f"Booted app version {first}" in "\n".join(run.html("audit"))

    refused = run.text("missing")
    assert refused.startswith("Refused, and nothing changed on the hosts:")
    assert "'v0-pruned-long-ago' is not available as a container" in refused
    assert all(f"web on {address}" in refused for address in addresses)
    assert sample.serving() == {address: first for address in addresses}
