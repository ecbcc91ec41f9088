"""notebooks/05-kamal-internals.ipynb executed headless: against the sandbox (names and
labels, Kamal 1's cord on a real container, a proxy switch, the lock, the audit log) and in
plan mode with no host at all, as Binder runs it."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from kamalnb.internals import shell
from tests.notebooks.runner import execute, execute_without_hosts
from tests.steps.conftest import sample  # noqa: F401  (the fixture: a clone of the sandbox's sample app)

NOTEBOOK = "05-kamal-internals.ipynb"
DEMO_CONTAINER = "kamal1-cord-demo-sample"
UPSTREAM = re.compile(r"\b[0-9a-f]{12}:80\b")


def statuses(text: str) -> list[str]:
    """The health statuses a polling table shows, in order."""
    return re.findall(r"\b(starting|healthy|unhealthy)\b", text)


@pytest.mark.parametrize("environment", [{}, {"KAMALNB_PLAN": "1"}], ids=["no-sandbox", "binder"])
def test_with_no_host_the_internals_runbook_teaches_from_plans_and_connects_nowhere(environment, tmp_path,
                                                                                  monkeypatch):
    run = execute_without_hosts(NOTEBOOK, environment, tmp_path, monkeypatch)
    assert "PLAN MODE" in run.text("setup") and "examples/hey" in run.text("setup")

    names = "\n".join(run.html("names-planned"))
    assert "hey-web-v1" in names and "hey-job-v1" in names
    assert "service=hey, role=web, destination" in names and ".kamal/apps/hey/env/roles/web.env" in names
    phases = "\n".join(run.html("plan-phases"))
    for phase in ("build", "pull", "lock", "start", "health", "switch", "prune", "unlock"):
        assert f">{phase}<" in phases
    assert "docker pull registry.example.com/acme/hey:v1" in "\n".join(run.html("plan-commands"))

    for tag in ("docker-ps", "inspect", "env-file", "cord-start", "cord-cut", "cord-remove", "containers-after",
                "lock-files", "audit-log"):
        assert "Plan mode: this runs on a host, skipped." in run.text(tag), tag
    # A `$` in a command never reaches JupyterLab as the start of LaTeX.
    inspect = "\n".join(run.html("inspect"))
    assert "<span>$</span>(docker ps --latest" in inspect and "$(" not in inspect

    cord = "\n".join(run.html("cord-commands"))
    assert "stat /tmp/kamal-cord/cord &gt; /dev/null || exit 1" in cord
    assert "--health-interval 1s" in cord and ":/tmp/kamal-cord registry.example.com/acme/hey:v1" in cord
    for tag in ("cord-healthy", "cord-unhealthy"):
        assert run.text(tag).startswith("Plan mode: polls `docker inspect --format '{{.State.Health.Status}}'")
    for tag in ("routes-before", "routes-after"):
        assert run.text(tag).strip() == "Plan mode: routes() reads the hosts, skipped."

    assert "deploy: 3 planned" in "\n".join(run.html("deploy"))
    assert ">switch<" in "\n".join(run.html("ran-phases"))
    assert "mkdir .kamal/lock-hey &amp;&amp; echo" in "\n".join(run.html("lock-acquire"))
    assert "rm .kamal/lock-hey/details &amp;&amp; rm -r .kamal/lock-hey" in "\n".join(run.html("lock-release"))
    assert ".kamal/hey-audit.log" in "\n".join(run.html("audit-commands"))


@pytest.mark.sandbox
@pytest.mark.timeout(300)
def test_against_the_sandbox_the_internals_runbook_shows_labels_a_cut_cord_and_a_proxy_switch(sample, monkeypatch):  # noqa: F811
    monkeypatch.delenv("KAMALNB_UI", raising=False)
    monkeypatch.delenv("KAMALNB_PLAN", raising=False)
    monkeypatch.delenv("VERSION", raising=False)
    app = sample.load()
    app.deploy(ui="silent")  # the runbook looks at a deployed app
    first = app.config.version
    host = app.config.primary_host
    try:
        run = execute(NOTEBOOK, {"config_path": str(sample.path / "config" / "deploy.yml")}, timeout=240)
        second = sample.git("rev-parse", "HEAD")

        assert run.errors() == []
        assert "PLAN MODE" not in run.text("setup")

        # Names and labels: from the plan, from `docker ps`, from `docker inspect`.
        assert "service=sample, role=web, destination" in "\n".join(run.html("names-planned"))
        assert f"sample-web-{first}  service=sample role=web destination=\n" in run.text("docker-ps")
        assert f"sample-worker-{first}  service=sample role=worker destination=\n" in run.text("docker-ps")
        inspected = run.text("inspect")
        assert f"/sample-web-{first}" in inspected and '{"destination":"","role":"web","service":"sample"}' in inspected
        assert f"KAMAL_VERSION={first}" in inspected

        # Kamal 1's cord: healthy with the cord file, unhealthy once it is cut.
        assert statuses(run.text("cord-healthy"))[-1] == "healthy"
        assert statuses(run.text("cord-unhealthy"))[-2:] == ["healthy", "unhealthy"]
        assert "/root/.kamal/cords/sample-web-" in run.text("cord-cut")
        assert "can't stat '/tmp/kamal-cord/cord'" in run.text("cord-log")
        assert DEMO_CONTAINER in run.text("cord-remove")

        # The proxy switch: the route's upstream is the new container after the deploy.
        before, after = set(UPSTREAM.findall(run.text("routes-before"))), set(UPSTREAM.findall(run.text("routes-after")))
        assert len(before) == 3 and len(after) == 3 and not before & after
        deployed = run.html("deploy")[-1]
        assert deployed.startswith("<div class='kamalnb-report'><strong>deploy: 4 ok") and deployed.count(f">{second}<") == 4
        assert ">stop<" in "\n".join(run.html("ran-phases"))
        assert f"sample-web-{first}  Exited" in run.text("containers-after")

        # The lock, taken and released; the audit lines of the deploy.
        assert "Message: Looking at the lock from the internals runbook" in run.text("lock-files")
        assert f"Booted app version {second}" in run.text("audit-log")
        assert not app.lock.status(ui="silent").held
        assert shell(app, host, f"docker ps --all --quiet --filter name={DEMO_CONTAINER}; ls .kamal/cords").text == ""
        assert sample.serving() == {h.address: second for h in sample.sandbox.hosts}
    finally:
        shell(app, host, f"docker rm --force {DEMO_CONTAINER} > /dev/null 2>&1 ; true")
        app.close()
