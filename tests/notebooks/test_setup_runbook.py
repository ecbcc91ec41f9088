"""notebooks/01-setup.ipynb executed headless: against the sandbox on hosts where the app has
never run (check the hosts, Docker, proxy, accessories, first deploy, a request through each
proxy) and in plan mode with no host at all."""

from __future__ import annotations

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from tests.notebooks.runner import execute, execute_without_hosts
from tests.steps.conftest import sample  # noqa: F401  (the fixture: a clone of the sandbox's sample app)

NOTEBOOK = "01-setup.ipynb"
REPORT = "<div class='kamalnb-report'><strong>"


@pytest.mark.parametrize("environment", [{}, {"KAMALNB_PLAN": "1"}], ids=["no-sandbox", "binder"])
def test_with_no_host_the_setup_runbook_plans_every_step_and_connects_nowhere(environment, tmp_path, monkeypatch):
    run = execute_without_hosts(NOTEBOOK, environment, tmp_path, monkeypatch)
    assert "PLAN MODE" in run.text("setup") and "examples/hey" in run.text("setup")
    assert "Version to deploy: v1" in run.text("load")

    plan_html = "\n".join(run.html("plan"))
    assert "docker run --detach --restart unless-stopped --name hey-web-v1" in plan_html
    for host in ("192.0.2.10", "192.0.2.11", "192.0.2.12"):
        assert host in plan_html
    assert "not-a-real-password" not in plan_html and "[REDACTED]" in plan_html

    assert run.final_html("bootstrap").startswith(f"{REPORT}server bootstrap: 3 planned")
    assert run.final_html("proxy").startswith(f"{REPORT}proxy boot: 2 planned")
    assert run.text("accessories-boot").strip() == "This project has no accessories."
    assert run.final_html("deploy").startswith(f"{REPORT}deploy: 3 planned")
    for tag, table in (("hosts", "hosts"), ("accessories", "accessories"), ("versions", "versions"),
                       ("routes", "routes"), ("requests", "requests")):
        assert run.text(tag).strip() == f"Plan mode: {table}() reads the hosts, skipped."


@pytest.mark.sandbox
@pytest.mark.timeout(300)
def test_against_the_sandbox_the_setup_runbook_boots_everything_and_each_proxy_serves_the_app(sample, monkeypatch):  # noqa: F811
    for name in ("KAMALNB_UI", "KAMALNB_PLAN", "VERSION"):
        monkeypatch.delenv(name, raising=False)
    version = sample.git("rev-parse", "HEAD")
    addresses = [host.address for host in sample.sandbox.hosts]
    run = execute(NOTEBOOK, {"config_path": str(sample.path / "config" / "deploy.yml"), "check_path": "/version"},
                  timeout=240)

    assert run.errors() == []
    assert "PLAN MODE" not in run.text("setup")
    assert f"Version to deploy: {version}" in run.text("load")
    assert "All 3 hosts are reachable, run Docker" in run.text("hosts")
    hosts_html = "\n".join(run.html("hosts"))
    assert all(hosts_html.count(f">{address}<") == 1 for address in addresses)

    assert run.final_html("bootstrap").startswith(f"{REPORT}server bootstrap: 3 ok")
    assert run.final_html("proxy").startswith(f"{REPORT}proxy boot: 3 ok")
    assert run.final_html("accessories-boot").startswith(f"{REPORT}accessory boot: 3 ok")
    accessories = "\n".join(run.html("accessories"))
    assert accessories.count(">sample-redis<") == 3 and accessories.count(">running<") == 3

    deployed = run.final_html("deploy")
    assert deployed.startswith(f"{REPORT}deploy: 4 ok")
    assert deployed.count(f">{version}<") == 4
    versions = "\n".join(run.html("versions"))
    assert versions.count(f">{version}<") == 4
    routes = "\n".join(run.html("routes"))
    assert all(f">{address}<" in routes for address in addresses) and routes.count(">sample-web<") == 3

    requests = "\n".join(run.html("requests"))
    for address in addresses:
        assert f"http://{address}:80/version" in requests
    assert requests.count(">200<") == 3 and requests.count(f">{version}<") == 3
    assert sample.serving() == {address: version for address in addresses}
