"""Kamal's `forward_headers` and `healthcheck` interval and timeout, honoured for real."""

from __future__ import annotations

import http.client
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from kamalnb.commands.base import Command
from kamalnb.errors import StepFailed
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.proxy import CaddyDriver
from tests.proxy.test_https import GIT, Project

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]

HEADERS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n%s|%s|%s\\n' "$HTTP_X_FORWARDED_FOR" "$HTTP_X_FORWARDED_PROTO" \\
  "$HTTP_X_FORWARDED_HOST"
"""


def configure(project: Project, **settings: object) -> None:
    config_file = project.path / "config" / "deploy.yml"
    data = yaml.safe_load(config_file.read_text())
    for key, value in settings.items():
        if key.startswith("proxy_"):
            data["proxy"][key.removeprefix("proxy_")] = value
        else:
            data[key] = value
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))


def headers_seen(address: str, name: str) -> str:
    connection = http.client.HTTPConnection(address, 80, timeout=5)
    try:
        connection.request("GET", "/cgi-bin/headers", headers={
            "Host": name, "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "front.example"})
        return connection.getresponse().read().decode().strip()
    finally:
        connection.close()


@pytest.fixture
def fleet(sandbox):
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)))
    host = sandbox.hosts[1].address
    yield host, sandbox.gateway
    executor.run(host, Command(("docker ps -aq --filter label=service=settings | xargs -r docker rm -f",
                                "; rm -rf .kamal/apps/settings .kamal/lock-settings")), check=False)
    # The host as the next tests expect it: no proxy holding its ports 80 and 443.
    CaddyDriver(executor, sandbox.proxy_image).purge(host)
    executor.close()


def test_forward_headers_kept_by_default_without_tls_and_replaced_when_off(sandbox, fleet, tmp_path) -> None:
    host, client = fleet
    project = Project(sandbox, tmp_path, "settings", [host], ["settings.test"], ssl_setting=False)
    script = Path(project.path) / "public" / "cgi-bin" / "headers"
    script.write_text(HEADERS_CGI)
    script.chmod(0o755)
    subprocess.run([*GIT, "add", "-A"], cwd=project.path, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "headers"], cwd=project.path, check=True)

    # kamal-proxy's default without TLS: the client's forwarded headers are kept.
    assert project.load().deploy(ui="quiet").ok
    assert headers_seen(host, "settings.test") == f"203.0.113.9, {client}|https|front.example"

    configure(project, proxy_forward_headers=False)
    assert project.load().redeploy(ui="quiet").ok
    assert headers_seen(host, "settings.test") == f"{client}|http|settings.test"


def test_the_health_check_waits_its_interval_and_gives_up_after_its_timeout(sandbox, fleet, tmp_path) -> None:
    host, _ = fleet
    project = Project(sandbox, tmp_path, "settings", [host], ["settings.test"], ssl_setting=False)
    # Every check takes 3 s to answer: each one times out after 1 s, the next starts 2 s
    # after the one before, and the deploy gives up after 5 s: checks at 0, 2 and 4 s.
    configure(project, deploy_timeout=5, proxy_healthcheck={"path": "/cgi-bin/slow?3", "interval": 2, "timeout": 1})
    with pytest.raises(StepFailed) as failed:
        project.load().deploy(ui="quiet")
    attempts = re.findall(r"^\s+(\d+\.\d)s\s+(.*)$", str(failed.value.report.failed[0].error), re.MULTILINE)
    assert [round(float(after)) for after, _ in attempts] == [0, 2, 4], attempts
    assert all("timed out" in what for _, what in attempts), attempts
