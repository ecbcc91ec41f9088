"""Accessories on the sandbox's real hosts, with the real redis image: setup boots redis
before the app, the app counts visits in it by its container name, the count survives a
deploy, a reboot and a restart; exec, logs, details; placement by roles and by tag; files,
directories and secrets; remove; and the failures that must leave nothing half-started."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from typing import Any

import pytest

from kamalnb.errors import ConfigError, StepFailed
from kamalnb.events import Events, HostStarted
from kamalnb.sandbox import Sandbox

from .conftest import SampleApp

pytestmark = pytest.mark.sandbox

REDIS = "sample-redis"


def count(host: str, wait: float = 5.0) -> int:
    """One visit counted. Redis takes a moment to listen after its container starts (Kamal
    has no readiness check for accessories), so an answer of `error` (nothing counted) is
    tried again for `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        with urllib.request.urlopen(f"http://{host}/cgi-bin/count", timeout=5) as response:
            text = response.read().decode().strip()
        if text.isdigit() or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert text.isdigit(), text
    return int(text)


def ssh(sandbox: Sandbox, host: str, command: str) -> str:
    return subprocess.run(sandbox.ssh_argv(host, command), capture_output=True, text=True, timeout=30).stdout.strip()


def containers(sandbox: Sandbox, host: str, service: str) -> list[str]:
    """`name state` of the containers with the service label on a host."""
    out = sandbox.host_docker(host, "ps", "-a", "--filter", f"label=service={service}",
                              "--format", "{{.Names}} {{.State}}").stdout
    return out.strip().splitlines()


def with_accessory(name: str, settings: dict[str, Any]) -> Any:
    def change(data: dict[str, Any]) -> None:
        data.setdefault("accessories", {})[name] = settings
    return change


@pytest.fixture(scope="module")
def booted(sample: SampleApp) -> SampleApp:
    """The sample app after `setup`: redis on every web host, the app beside it."""
    events = Events()
    order: list[str] = []
    events.subscribe(lambda event: order.append(event.phase) if isinstance(event, HostStarted) else None)
    sample.load().setup(ui="silent", events=events)
    sample.setup_phases = order  # type: ignore[attr-defined]
    return sample


def test_setup_boots_redis_before_the_app_and_the_app_counts_visits_in_it(booted: SampleApp) -> None:
    phases = booted.setup_phases  # type: ignore[attr-defined]
    assert "accessory" in phases and "boot" in phases
    assert phases.index("accessory") < phases.index("boot")
    for host in booted.sandbox.hosts:
        assert containers(booted.sandbox, host.name, REDIS) == [f"{REDIS} running"]
        first = count(host.address)
        assert count(host.address) == first + 1
    # Kamal's audit line, before the app's.
    log = ssh(booted.sandbox, booted.sandbox.hosts[0].address, "cat .kamal/sample-audit.log")
    assert log.index("Booted redis accessory") < log.index("Booted app version")
    assert booted.git("status", "--porcelain") == ""


def test_the_count_survives_a_deploy_an_accessory_reboot_and_a_restart(booted: SampleApp) -> None:
    host = booted.sandbox.hosts[1].address
    before = count(host)
    booted.commit("another version")
    booted.load().deploy(ui="silent")
    assert count(host) == before + 1
    report = booted.load().accessory("redis").reboot(ui="silent")
    assert report.ok and len(report) == 3
    assert count(host) == before + 2
    booted.load().accessory("redis").restart(ui="silent")
    assert count(host) == before + 3
    # A second boot skips the hosts where it exists, as Kamal does.
    again = booted.load().accessories.boot(ui="silent")
    assert {outcome.status for outcome in again} == {"skipped"}


def test_exec_in_the_running_container_and_in_a_new_one(booted: SampleApp) -> None:
    redis = booted.load().accessory("redis")
    reused = redis.exec("redis-cli INCR x", reuse=True, ui="silent")
    assert reused.ok and set(reused.outputs) == {h.address for h in booted.sandbox.hosts}
    values = {host: int(text) for host, text in reused.outputs.items()}
    fresh = redis.exec(f"redis-cli -h {REDIS} INCR x", ui="silent")
    assert fresh.ok
    assert {host: int(text) for host, text in fresh.outputs.items()} == {h: v + 1 for h, v in values.items()}
    # No container of the run is left behind (`docker run --rm`).
    for host in booted.sandbox.hosts:
        of_image = booted.sandbox.host_docker(host.name, "ps", "-a", "--filter", f"ancestor={booted.sandbox.redis_image}",
                                              "--format", "{{.Names}}").stdout.split()
        assert of_image == [REDIS]


def test_details_and_logs(booted: SampleApp) -> None:
    app = booted.load()
    frame = app.accessories()
    assert list(frame.columns)[:7] == ["accessory", "host", "container", "image", "state", "ports", "uptime"]
    assert set(frame["state"]) == {"running"} and set(frame["container"]) == {REDIS}
    assert frame["uptime"].notna().all()
    logs = app.accessory("redis").logs(lines=50, ui="silent")
    assert logs.ok and all("Ready to accept connections" in text for text in logs.outputs.values())
    grepped = app.accessory("redis").logs(grep="Ready to accept", ui="silent")
    assert all(line for text in grepped.outputs.values() for line in text.splitlines())
    assert all("Ready to accept" in line for text in grepped.outputs.values() for line in text.splitlines())


def test_an_unknown_name_lists_the_known_ones(booted: SampleApp) -> None:
    with pytest.raises(ConfigError, match=r"No accessory by the name of 'postgres' \(options: redis\)"):
        booted.load().accessory("postgres")


def test_placement_by_roles_and_by_tag(booted: SampleApp) -> None:
    sandbox = booted.sandbox
    hosts = [h.address for h in sandbox.hosts]
    image = sandbox.redis_image

    def change(data: dict[str, Any]) -> None:
        data["servers"]["web"] = [hosts[0], {hosts[1]: ["cache"]}, hosts[2]]
        data["accessories"]["byrole"] = {"image": image, "roles": ["worker"]}
        data["accessories"]["bytag"] = {"image": image, "tag": "cache"}

    booted.edit_config(change)
    app = booted.load()
    try:
        assert app.accessory("byrole").boot(ui="silent").ok
        assert app.accessory("bytag").boot(ui="silent").ok
        on = {name: [h.address for h in sandbox.hosts if containers(sandbox, h.name, f"sample-{name}")]
              for name in ("byrole", "bytag")}
        assert on == {"byrole": [hosts[0]], "bytag": [hosts[1]]}
    finally:
        app.accessory("byrole").remove(confirm=True, ui="silent")
        app.accessory("bytag").remove(confirm=True, ui="silent")
    assert all(not containers(sandbox, h.name, f"sample-{name}") for h in sandbox.hosts for name in ("byrole", "bytag"))


def test_files_directories_secrets_and_remove(booted: SampleApp) -> None:
    sandbox = booted.sandbox
    host = sandbox.hosts[2]
    (booted.path / "config" / "store.conf.erb").write_text("greeting <%= ENV['GREETING'] %>\n")
    (booted.path / "config" / "plain.txt").write_text("plain\n")
    (booted.path / ".kamal" / "secrets").write_text(
        (booted.path / ".kamal" / "secrets").read_text() + "STORE_PASSWORD=s3cr3t-value\n")
    booted.edit_config(with_accessory("store", {
        "image": sandbox.redis_image, "host": host.address,
        "env": {"clear": {"GREETING": "hello"}, "secret": ["STORE_PASSWORD"]},
        "files": ["config/store.conf.erb:/etc/store.conf",
                  {"local": "config/plain.txt", "remote": "/etc/plain.txt", "mode": "0640"}],
        "directories": ["logs:/logs"],
        "volumes": ["sample-store-data:/data"],
    }))
    store = booted.load().accessory("store")
    report = store.boot(ui="silent")
    assert report.ok and "s3cr3t-value" not in str(report) + report._repr_html_()
    address = host.address
    assert ssh(sandbox, address, "cat sample-store/etc/store.conf") == "greeting hello"
    assert ssh(sandbox, address, "stat -c %a sample-store/etc/store.conf sample-store/etc/plain.txt") == "755\n640"
    assert ssh(sandbox, address, "stat -c %a .kamal/apps/sample/env/accessories/store.env") == "600"
    assert ssh(sandbox, address, "test -d sample-store/logs && echo yes") == "yes"
    inside = store.exec("cat /etc/store.conf", reuse=True, ui="silent")
    assert inside.outputs[address].strip() == "greeting hello"
    env = sandbox.host_docker(host.name, "exec", "sample-store", "sh", "-c", "echo $STORE_PASSWORD").stdout.strip()
    assert env == "s3cr3t-value"

    with pytest.raises(ConfigError, match="confirm=True"):
        store.remove()
    store.remove(confirm=True, ui="silent")
    assert containers(sandbox, host.name, "sample-store") == []
    assert ssh(sandbox, address, "ls -d sample-store .kamal/apps/sample/env/accessories/store.env 2>&1 | wc -l") == "2"
    assert "No such file" in ssh(sandbox, address, "ls -d sample-store 2>&1")
    assert "No such file" in ssh(sandbox, address, "ls .kamal/apps/sample/env/accessories/store.env 2>&1")
    volumes = sandbox.host_docker(host.name, "volume", "ls", "-q").stdout.split()
    assert "sample-store-data" in volumes  # kept unless asked
    store.remove(confirm=True, volumes=True, ui="silent")
    assert "sample-store-data" not in sandbox.host_docker(host.name, "volume", "ls", "-q").stdout.split()


def test_a_taken_port_an_unpullable_image_and_a_missing_file_leave_nothing_half_started(booted: SampleApp) -> None:
    sandbox = booted.sandbox
    host = sandbox.hosts[0]
    # Something else holds the port on the host.
    sandbox.host_docker(host.name, "run", "-d", "--name", "port-holder", "-p", "7777:80", sandbox.base_image,
                        "sleep", "600")
    try:
        booted.edit_config(with_accessory("clash", {"image": sandbox.redis_image, "host": host.address, "port": 7777}))
        with pytest.raises(StepFailed) as failed:
            booted.load().accessory("clash").boot(ui="silent")
        message = str(failed.value)
        assert "accessory clash" in message and host.address in message and "port 7777:7777 is already taken" in message
        assert containers(sandbox, host.name, "sample-clash") == []
    finally:
        sandbox.host_docker(host.name, "rm", "-f", "port-holder", check=False)

    booted.edit_config(with_accessory("ghost", {"image": f"{sandbox.registry}/nope/missing:1", "host": host.address}))
    with pytest.raises(StepFailed) as failed:
        booted.load().accessory("ghost").boot(ui="silent")
    message = str(failed.value)
    assert "accessory ghost" in message and host.address in message and "cannot be pulled" in message
    assert containers(sandbox, host.name, "sample-ghost") == []

    booted.edit_config(with_accessory("lost", {"image": sandbox.redis_image, "host": host.address,
                                               "files": ["config/not-there.conf:/etc/x.conf"]}))
    with pytest.raises(ConfigError, match=rf"accessory lost \(for {host.address}\).*not-there.conf does not exist"):
        booted.load().accessory("lost").boot(ui="silent")
    assert containers(sandbox, host.name, "sample-lost") == []
    assert "No such file" in ssh(sandbox, host.address, "ls -d sample-lost 2>&1")


def test_an_accessory_served_through_the_proxy(booted: SampleApp) -> None:
    sandbox = booted.sandbox
    host = sandbox.hosts[1].address
    booted.edit_config(with_accessory("pages", {
        "image": sandbox.base_image, "host": host,
        "cmd": "sh -c 'trap exit TERM; httpd -f -p 80 -h /etc & wait'",
        "proxy": {"host": "pages.test", "app_port": 80},
    }))

    def page() -> str:
        request = urllib.request.Request(f"http://{host}/passwd", headers={"Host": "pages.test"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.read().decode()
        except OSError as error:
            return f"error: {error}"

    pages = booted.load().accessory("pages")
    try:
        assert pages.boot(ui="silent").ok
        assert "root:x:0:0" in page()
        pages.stop(ui="silent")
        assert "root:x:0:0" not in page()  # the route is gone: the app's catch-all answers
        pages.start(ui="silent")
        assert "root:x:0:0" in page()
    finally:
        pages.remove(confirm=True, ui="silent")
    assert "root:x:0:0" not in page()
    assert containers(sandbox, sandbox.hosts[1].name, "sample-pages") == []
