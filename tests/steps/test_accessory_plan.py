"""Accessories without hosts: setup's plan boots them after the proxy and before the app,
deploy's does not; the command line's errors (unknown name, remove off a terminal, a
missing file) name the problem; secrets stay out of plans."""

from __future__ import annotations

import subprocess

import pytest

import kamalnb
from kamalnb.cli.main import main
from kamalnb.errors import ConfigError
from tests.steps.conftest import offline_project

DEPLOY_YML = """\
service: hey
image: acme/hey
servers:
  web:
    - 192.0.2.10
    - 192.0.2.11
  jobs:
    hosts:
      - 192.0.2.12
    cmd: bin/jobs
    proxy: false
registry:
  server: registry.example.test
  username: acme
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
proxy:
  app_port: 3000
accessories:
  db:
    image: registry.example.test/postgres:16
    host: 192.0.2.20
    port: "5432"
    env:
      secret:
        - DB_PASSWORD
  cache:
    image: redis:7
    registry:
      server: other.registry.test
      username: cacher
      password:
        - CACHE_REGISTRY_PASSWORD
    roles:
      - jobs
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    offline_project(tmp_path, DEPLOY_YML,
                    "KAMAL_REGISTRY_PASSWORD=hunter2\nDB_PASSWORD=s3cr3t\nCACHE_REGISTRY_PASSWORD=pw2\n", monkeypatch)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(project) -> kamalnb.App:
    return kamalnb.load(project / "config" / "deploy.yml", root=project)


def test_setup_boots_the_accessories_after_the_proxy_and_before_the_app(project) -> None:
    plan = load(project).setup(plan=True, ui="silent")
    frame = plan.to_frame()
    db = plan.commands("192.0.2.20", kind="run")
    assert any(c.startswith("docker run --name hey-db --detach") and "--publish 5432:5432" in c for c in db)
    cache = [c for c in plan.commands("192.0.2.12", kind="run") if c.startswith("docker run --name hey-cache")]
    assert len(cache) == 1 and cache[0].endswith(" other.registry.test/redis:7")
    # Each accessory logs in to its own registry, else to the app's.
    assert "docker login other.registry.test -u [REDACTED] --password-stdin" in plan.commands("192.0.2.12")
    assert "docker login registry.example.test -u [REDACTED] --password-stdin" in plan.commands("192.0.2.20")
    assert not [c for c in plan.commands("192.0.2.10") if "hey-cache" in c or "hey-db" in c]
    # On the jobs host: proxy boot, then the accessory, then the app.
    phases = list(dict.fromkeys(frame[frame.host == "192.0.2.12"].phase))
    assert phases.index("accessory") < phases.index("start") and "accessory" in phases
    assert "s3cr3t" not in str(plan) and "s3cr3t" not in frame.to_string()
    uploads = plan.commands("192.0.2.20", kind="upload")
    assert any(u.startswith("upload .kamal/apps/hey/env/accessories/db.env (") and u.endswith("mode 0600)")
               for u in uploads)


def test_deploy_does_not_touch_the_accessories(project) -> None:
    plan = load(project).deploy(plan=True, ui="silent")
    assert not [c for c in plan.commands() if "hey-db" in c or "hey-cache" in c]


def test_an_unknown_accessory_lists_the_known_ones(project, capsys) -> None:
    with pytest.raises(ConfigError, match=r"No accessory by the name of 'redis' \(options: db, cache\)"):
        load(project).accessory("redis")
    assert main(["accessory", "boot", "redis"]) == 1
    assert "No accessory by the name of 'redis' (options: db, cache)" in capsys.readouterr().err


def test_remove_asks_and_refuses_without_a_terminal_or_confirm(project, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["accessory", "remove", "db"]) == 1
    assert "pass -y" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="confirm=True"):
        load(project).accessory("db").remove()
    plan = load(project).accessories.remove(confirm=True, plan=True, ui="silent")
    assert "docker image rm --force registry.example.test/postgres:16" in plan.commands("192.0.2.20")
    assert "rm -rf hey-db" in plan.commands("192.0.2.20")


def test_a_missing_local_file_is_refused_before_any_host_is_touched(project) -> None:
    text = DEPLOY_YML + "    files:\n      - config/missing.conf:/etc/missing.conf\n"
    (project / "config" / "deploy.yml").write_text(text)
    with pytest.raises(ConfigError, match=r"accessory cache \(for 192.0.2.12\).*missing.conf does not exist"):
        load(project).accessory("cache").boot(plan=True, ui="silent")


def test_the_command_line_plans_a_boot(project) -> None:
    result = subprocess.run(["kamalnb", "accessory", "boot", "all", "--plan", "-q"], cwd=project,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Plan for accessory boot (nothing was run):" in result.stdout
    assert "docker ps -a -q --filter label=service=hey-db" in result.stdout


def test_all_of_no_accessories_is_nothing_to_do(project) -> None:
    text = DEPLOY_YML.split("accessories:")[0]
    (project / "config" / "deploy.yml").write_text(text)
    app = load(project)
    assert len(app.accessories.boot(plan=True, ui="silent").report) == 0


def test_upgrade_reboots_every_accessory_host_by_host_when_rolling(project) -> None:
    with pytest.raises(ConfigError, match="confirm=True"):
        load(project).accessories.upgrade()
    plan = load(project).accessories.upgrade(confirm=True, rolling=True, plan=True, ui="silent")
    for host, service, image in (("192.0.2.20", "hey-db", "registry.example.test/postgres:16"),
                                 ("192.0.2.12", "hey-cache", "other.registry.test/redis:7")):
        run = [c for c in plan.commands(host, kind="run") if "-audit.log" not in c]
        order = [f"docker image pull {image}", f"docker container stop {service}",
                 f"docker container prune --force --filter label=service={service}"]
        assert [c for c in run if c in order] == order
        assert run[-1].startswith(f"docker run --name {service} --detach")
    assert {o.host for o in plan.report} == {"192.0.2.20", "192.0.2.12"}
