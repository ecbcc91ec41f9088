"""Plan mode: the exact commands per host and phase, without connecting anywhere."""

from __future__ import annotations

import re
import subprocess

import pytest

import kamalnb
from kamalnb.events import CommandStarted, Events
from kamalnb.steps.plan import Plan
from tests.steps.conftest import offline_project

DEPLOY_YML = """\
service: hey
image: acme/hey
servers:
  web:
    - 192.0.2.10
    - 192.0.2.11
registry:
  server: registry.example.test
  username: acme
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
proxy:
  app_port: 3000
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    return offline_project(tmp_path, DEPLOY_YML, "KAMAL_REGISTRY_PASSWORD=hunter2\n", monkeypatch)


def test_a_plan_lists_every_command_per_host_without_connecting(project) -> None:
    app = kamalnb.load(project / "config" / "deploy.yml", root=project)
    version = app.config.version
    plan = app.deploy(plan=True, ui="quiet")
    assert isinstance(plan, Plan)
    assert set(plan.hosts) == {"local", "192.0.2.10", "192.0.2.11"}
    run = plan.commands("192.0.2.11", kind="run")
    assert "docker login registry.example.test -u [REDACTED] --password-stdin" in run
    assert f"docker pull registry.example.test/acme/hey:{version}" in run
    [docker_run] = [c for c in run if c.startswith("docker run --detach")]
    assert docker_run.startswith(f"docker run --detach --restart unless-stopped --name hey-web-{version} --network kamal ")
    assert f'--env KAMAL_VERSION="{version}"' in docker_run
    assert "hunter2" not in str(plan) and "hunter2" not in plan.to_frame().to_string()
    http = plan.commands("192.0.2.10", kind="http")
    assert "GET http://172.18.0.2:3000/up" in http
    assert "POST http://127.0.0.1:2019/config/apps/http/servers/kamalnb/routes" in http
    frame = plan.to_frame()
    assert list(frame.columns) == ["host", "phase", "kind", "command"]
    assert {"build", "pull", "lock", "proxy", "start", "health", "switch", "tag", "prune", "unlock"} <= set(frame.phase)
    assert "Plan for deploy (nothing was run):" in str(plan)
    assert plan.report.ok and {o.status for o in plan.report} == {"planned"}


def test_the_lock_verbs_plan_their_commands_without_connecting(project) -> None:
    app = kamalnb.load(project / "config" / "deploy.yml", root=project)
    acquired = app.lock.acquire("maintenance", plan=True, ui="quiet")
    assert any(c.startswith("mkdir .kamal/lock-hey && echo ") for c in acquired.commands("192.0.2.10"))
    status = app.lock.status(plan=True, ui="quiet")
    assert status.commands("192.0.2.10") == ["stat .kamal/lock-hey > /dev/null && cat .kamal/lock-hey/details | base64 -d"]
    released = app.lock.release(plan=True, ui="quiet")
    assert "rm .kamal/lock-hey/details && rm -r .kamal/lock-hey" in released.commands("192.0.2.10")


def test_the_command_line_prints_the_plan(project) -> None:
    result = subprocess.run(["kamalnb", "deploy", "--plan", "-q"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Plan for deploy (nothing was run):" in result.stdout
    assert "192.0.2.10:" in result.stdout


def _normalized(command: str) -> str:
    command = re.sub(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\]", "[TIME]", command)
    command = re.sub(r"(--hostname \S+-)[0-9a-f]{12}", r"\1HEX", command)
    command = re.sub(r'echo "[A-Za-z0-9+/=\n]+" > (\.kamal/lock-)', r'echo "DETAILS" > \1', command)
    # Where Docker keeps images, which only the engine's answer tells.
    command = re.sub(r"^sh -c 'df -Pk \S+ ", "sh -c 'df -Pk DOCKER_ROOT ", command)
    return command


@pytest.mark.sandbox
def test_the_plan_for_a_deploy_is_what_the_deploy_then_runs(sample) -> None:
    plan = sample.load().deploy(plan=True, ui="quiet")
    ran: dict[str, list[str]] = {}

    def collect(event) -> None:
        if isinstance(event, CommandStarted):
            ran.setdefault(event.host, []).append(event.command)

    report = sample.load().deploy(ui="quiet", events=Events(collect))
    assert report.ok
    http = ("GET ", "POST ", "PATCH ", "PUT ", "DELETE ")
    worker_host = sample.sandbox.hosts[0].address
    for host in sample.sandbox.hosts:
        planned = [_normalized(c) for c in plan.commands(host.address) if not c.startswith(http)]
        real = [_normalized(c) for c in ran[host.address]]
        # Roles sharing a host work in parallel: there only the set of commands is fixed.
        if host.address == worker_host:
            assert sorted(planned) == sorted(real)
        else:
            assert planned == real


def test_a_plan_with_ssl_puts_the_certificate_settings_on_the_host_and_asks_no_ca(project) -> None:
    deploy_yml = project / "config" / "deploy.yml"
    one_server = DEPLOY_YML.replace("    - 192.0.2.11\n", "")
    # An address nothing answers on: a plan must not depend on the CA being there.
    deploy_yml.write_text(one_server + "  ssl: true\n  host: hey.example.test\n"
                          "x-kamalnb:\n  proxy:\n    acme_ca: https://192.0.2.1/dir\n")
    plan = kamalnb.load(deploy_yml, root=project).deploy(plan=True, ui="silent")
    commands = plan.commands("192.0.2.10")
    assert any(c.startswith("upload .kamal/proxy/kamalnb/tls/hey-web.json") for c in commands), commands


def test_a_step_has_one_duration_the_report_and_the_outer_step_finished_agree(project) -> None:
    from kamalnb.events import StepFinished

    app = kamalnb.load(project / "config" / "deploy.yml", root=project)
    seen: list = []
    plan = app.deploy(plan=True, ui="silent", events=Events(seen.append))
    [outer] = [event for event in seen if isinstance(event, StepFinished) and event.step == "deploy"]
    assert outer is seen[-1] and outer.report is plan.report
    assert plan.report.duration == outer.duration


def test_a_plan_builds_with_the_builder_this_machine_has() -> None:
    from kamalnb.commands import Docker
    from kamalnb.executors.local import LocalExecutor
    from kamalnb.facts import buildx_installed
    from kamalnb.steps.plan import plan_executor

    here = LocalExecutor().read("local", buildx_installed(Docker()))
    assert plan_executor("deploy").facts["buildx_installed"] is here
    assert "buildx_installed" not in plan_executor("lock").facts


def test_an_accessory_with_ssl_is_refused_before_anything_is_planned(project) -> None:
    deploy_yml = project / "config" / "deploy.yml"
    deploy_yml.write_text(DEPLOY_YML + "accessories:\n  web2:\n    image: nginx\n    host: 192.0.2.10\n"
                                       "    proxy:\n      host: web2.example.test\n      ssl: true\n")
    app = kamalnb.load(deploy_yml, root=project)
    for verb in (lambda: app.setup(plan=True, ui="silent"), lambda: app.accessory("web2").boot(plan=True, ui="silent")):
        with pytest.raises(kamalnb.ConfigError, match=r"accessories/web2/proxy/ssl: kamalnb serves accessories over "):
            verb()


def _custom_certificate(project, certificate: str, key: str) -> kamalnb.App:
    deploy_yml = project / "config" / "deploy.yml"
    deploy_yml.write_text(DEPLOY_YML + "  host: hey.example.test\n  ssl:\n    certificate_pem: CERT\n"
                                       "    private_key_pem: KEY\n")
    secrets = project / ".kamal" / "secrets"
    secrets.write_text(secrets.read_text() + f'CERT="{certificate}"\nKEY="{key}"\n')
    return kamalnb.load(deploy_yml, root=project)


def test_a_custom_certificate_that_cannot_serve_is_refused_before_anything_is_planned(project) -> None:
    import datetime

    from tests.proxy.test_certificates import make

    certificate, key = make(["hey.example.test"], datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC))
    plan = _custom_certificate(project, certificate, key).deploy(plan=True, ui="silent")
    assert any(c.startswith("upload .kamal/proxy/kamalnb/tls/hey-web/hey.example.test.key") and "mode 0600" in c
               for c in plan.commands("192.0.2.10"))
    cases = [
        (certificate, make(["hey.example.test"])[1], r"the private key is not the certificate's"),
        (*make(["hey.example.test"], datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)),
         r"the certificate expired on 2020-01-01"),
        (*make(["other.example.test"], datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)),
         r"the certificate is for other\.example\.test, not for hey\.example\.test"),
        (certificate, "not a key", r"proxy/ssl/private_key_pem \(role web\): the secret holds no unencrypted PEM"),
    ]
    for cert, bad_key, message in cases:
        with pytest.raises(kamalnb.ConfigError, match=message):
            _custom_certificate(project, cert, bad_key).deploy(plan=True, ui="silent")


def test_a_plan_shows_the_checks_before_the_lock(project) -> None:
    app = kamalnb.load(project / "config" / "deploy.yml", root=project)
    plan = app.deploy(plan=True, ui="quiet", skip_push=True, version="v7")
    for host in ("192.0.2.10", "192.0.2.11"):
        run = plan.commands(host, kind="run")
        assert run[0].startswith("docker info --format '{{.ServerVersion}}|{{.ContainersRunning}}|{{.DockerRootDir}}'"
                                 "  [engine API: GET /info]")
        assert run[1].startswith("sh -c 'df -Pk /var/lib/docker ")
    assert plan.commands("local", kind="http") == [
        "HEAD http://registry.example.test:443/v2/acme/hey/manifests/v7"]
    assert "preflight" in set(plan.to_frame().phase)
