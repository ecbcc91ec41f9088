"""What a runbook's setup cell settles (kamalnb.runbook), without any host: the project or
the hosts alone, plan mode, and the checks of the hosts table."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamalnb.app import Fleet
from kamalnb.errors import HostsFailed
from kamalnb.frames import frame
from kamalnb.runbook import NoProject, Runbook
from kamalnb.state import HOSTS_COLUMNS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hey" / "config" / "deploy.yml"


@pytest.fixture(autouse=True)
def no_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("KAMALNB_SANDBOX_ROOT", str(tmp_path / "no-sandbox-here"))
    monkeypatch.delenv("KAMALNB_PLAN", raising=False)


def test_hosts_without_a_deploy_yml_make_a_fleet_and_no_project(capsys):
    book = Runbook.start(hosts=["10.0.0.1", "10.0.0.2", "10.0.0.1"])
    assert book.config_path is None and book.hosts == ("10.0.0.1", "10.0.0.2") and not book.plan
    assert repr(book) == "No project (no deploy.yml): inspecting the hosts 10.0.0.1, 10.0.0.2"

    app = book.load()
    assert isinstance(app, NoProject)
    fleet = book.fleet(app, user="deploy", ssh_config="/etc/ssh/fleet_config")
    assert isinstance(fleet, Fleet) and fleet.host_names == ["10.0.0.1", "10.0.0.2"]
    assert repr(fleet) == "Fleet of 2 hosts (10.0.0.1, 10.0.0.2) as deploy, ssh config /etc/ssh/fleet_config"

    assert Runbook.start(hosts="10.0.0.1, 10.0.0.2").hosts == ("10.0.0.1", "10.0.0.2")  # papermill's -p
    assert book.on_hosts(app.proxy.routes) is None
    assert book.on_hosts(app.app.logs, grep="ERROR") is None
    assert capsys.readouterr().out.splitlines() == [
        "No deploy.yml: app.proxy.routes() reads a project's hosts, skipped.",
        "No deploy.yml: app.app.logs() reads a project's hosts, skipped."]


def test_a_project_without_hosts_given_inspects_the_projects_hosts_in_plan_mode(capsys):
    book = Runbook.start(EXAMPLE, plan=True)
    app = book.load()
    fleet = book.fleet(app)
    assert fleet.host_names == ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    assert book.on_hosts(fleet.containers) is None
    assert book.on_hosts(app.accessories) is None
    assert capsys.readouterr().out.splitlines() == ["Plan mode: containers() reads the hosts, skipped.",
                                                   "Plan mode: accessories() reads the hosts, skipped."]
    assert book.rollback_target(app) == "previous"
    assert Runbook.start(EXAMPLE, plan=True, version="v7").rollback_target(app) == "v7"


def hosts_table(*rows):
    return frame(list(rows), HOSTS_COLUMNS)


def test_check_hosts_stops_at_an_unreachable_host_and_names_the_others_problems(capsys):
    book = Runbook.start(EXAMPLE, plan=False)
    ok = {"host": "a", "reachable": True, "docker_version": "27.1", "docker_root": "/var/lib/docker",
          "disk_free": 50 * 2**30}
    book.check_hosts(hosts_table(ok))
    assert capsys.readouterr().out == "All 1 hosts are reachable, run Docker and have at least 2 GiB free.\n"

    book.check_hosts(hosts_table(ok, {**ok, "host": "b", "disk_free": 2**29},
                                 {"host": "c", "reachable": True, "error": "docker: command not found"}))
    assert capsys.readouterr().out.splitlines() == [
        "c: Docker does not answer (docker: command not found); the bootstrap step installs it",
        "b: only 0.5 GiB free in /var/lib/docker: free some space before pulling images"]

    with pytest.raises(HostsFailed, match="Reaching the hosts failed on d:\n  d: connection refused"):
        book.check_hosts(hosts_table(ok, {"host": "d", "reachable": False, "error": "connection refused"}))
    book.check_hosts(None)  # plan mode: nothing to check
