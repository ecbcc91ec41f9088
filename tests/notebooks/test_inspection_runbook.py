"""notebooks/04-fleet-inspection.ipynb executed headless: against the sandbox with the sample
app's deploy.yml, against the sandbox's hosts alone (no deploy.yml), and in plan mode with no
host at all."""

from __future__ import annotations

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tests.notebooks.runner import execute, execute_without_hosts
from tests.steps.conftest import sample  # noqa: F401  (the fixture: a clone of the sandbox's sample app)

NOTEBOOK = "04-fleet-inspection.ipynb"
FLEET_TABLES = ("fleet-hosts", "fleet-containers", "fleet-versions", "fleet-images")
PROJECT_TABLES = {"hosts": "app.hosts", "versions": "app.versions", "containers": "app.containers",
                  "images": "app.images", "routes": "app.proxy.routes", "lock": "app.lock.status",
                  "audit": "app.audit", "drift": "app.drift", "logs": "app.app.logs"}


def html(run, tag: str) -> str:
    shown = "\n".join(run.html(tag))
    assert shown, f"cell {tag!r} shows no HTML"
    return shown


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ("KAMALNB_UI", "KAMALNB_PLAN", "VERSION"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("environment", [{}, {"KAMALNB_PLAN": "1"}], ids=["no-sandbox", "binder"])
def test_with_no_host_the_inspection_runbook_skips_every_table_and_connects_nowhere(environment, tmp_path,
                                                                                    monkeypatch, clean_environment):
    run = execute_without_hosts(NOTEBOOK, environment, tmp_path, monkeypatch)
    assert "PLAN MODE" in run.text("setup") and "examples/hey" in run.text("setup")
    assert "Fleet of 3 hosts (192.0.2.10, 192.0.2.11, 192.0.2.12)" in run.text("load")
    for tag in (*FLEET_TABLES, *PROJECT_TABLES):
        table = PROJECT_TABLES.get(tag, tag.removeprefix("fleet-")).rsplit(".", 1)[-1]
        assert run.text(tag).strip() == f"Plan mode: {table}() reads the hosts, skipped.", tag


@pytest.mark.sandbox
@pytest.mark.timeout(300)
def test_against_the_sandbox_the_inspection_runbook_reads_the_fleet_and_the_project(sample, clean_environment):  # noqa: F811
    app = sample.load()
    app.setup(ui="silent")
    app.close()
    version = app.config.version
    addresses = [host.address for host in sample.sandbox.hosts]
    run = execute(NOTEBOOK, {"config_path": str(sample.path / "config" / "deploy.yml"), "grep": "started"},
                  timeout=240)

    assert run.errors() == []
    assert "PLAN MODE" not in run.text("setup")
    assert f"Fleet of 3 hosts ({', '.join(addresses)})" in run.text("load")

    hosts = html(run, "fleet-hosts")
    assert all(hosts.count(f">{address}<") == 1 for address in addresses)
    containers = html(run, "fleet-containers")
    assert containers.count(f">sample-web-{version}<") == 3 and containers.count(">kamalnb-proxy<") == 3
    # The accessory's container is named after its service label: both show.
    assert containers.count(">sample-redis<") == 6 and containers.count(f">sample-worker-{version}<") == 1
    assert html(run, "fleet-versions").count(f">{version}<") == 4
    assert html(run, "fleet-images").count(f">{version}<") == 3

    assert html(run, "versions").count(f">{version}<") == 4
    assert html(run, "containers").count(">running<") == 4
    assert html(run, "routes").count(">sample-web<") == 3
    assert html(run, "lock") == f"<pre>There is no deploy lock on {addresses[0]}</pre>"
    assert f"Booted app version {version}" in html(run, "audit")
    drift = html(run, "drift")
    assert "<th>kind</th>" in drift and "<td>" not in drift  # nothing runs that the configuration does not know
    logs = html(run, "logs")
    for address in addresses:
        assert f"sample web {version} started on {address}" in logs


@pytest.mark.sandbox
@pytest.mark.timeout(300)
def test_against_the_sandbox_with_only_its_hosts_the_inspection_runbook_needs_no_deploy_yml(sample, clean_environment):  # noqa: F811
    app = sample.load()
    app.setup(ui="silent")
    app.close()
    version = app.config.version
    sandbox = sample.sandbox
    addresses = [host.address for host in sandbox.hosts]
    run = execute(NOTEBOOK, {"hosts": addresses, "ssh_config": str(sandbox.ssh_config)}, timeout=240)

    assert run.errors() == []
    assert f"No project (no deploy.yml): inspecting the hosts {', '.join(addresses)}" in run.text("setup")
    assert f"Fleet of 3 hosts ({', '.join(addresses)}) as root, ssh config {sandbox.ssh_config}" in run.text("load")
    hosts = html(run, "fleet-hosts")
    assert all(hosts.count(f">{address}<") == 1 for address in addresses)
    assert html(run, "fleet-containers").count(f">sample-web-{version}<") == 3
    versions = html(run, "fleet-versions")
    assert versions.count(f">{version}<") == 4 and versions.count(">sample<") == 4
    assert f">{sandbox.registry}/sample/app<" in html(run, "fleet-images")
    for tag, table in PROJECT_TABLES.items():
        assert run.text(tag).strip() == f"No deploy.yml: {table}() reads a project's hosts, skipped.", tag
    assert sorted(set(run.connections())) == sorted(repr((address, 22)) for address in addresses)
