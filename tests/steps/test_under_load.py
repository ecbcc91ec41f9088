"""No request dropped: deploys, rollbacks, failures, a rolling proxy reboot and killed
deploys on the sandbox's hosts while clients send about 200 requests per second spread over
them (half on kept-alive connections), every answer checked to be one version's whole page.

The clients stand for a load balancer in front of the hosts: a request whose host refuses
the connection goes to the next host (`moved`); a request sent and then lost, an error
status, and a truncated or mixed page are failures. `bench/zero_downtime.py` runs the same
scenarios and prints their latencies."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import StepFailed
from kamalnb.executors import SshExecutor
from kamalnb.proxy import caddy_config
from kamalnb.sandbox import sample_app
from kamalnb.sandbox.traffic import Traffic, whole_page

pytestmark = pytest.mark.sandbox

# Requests before a scenario starts and after it ends, so that both ends are under load.
SETTLE = 100


@contextmanager
def load(sample) -> Iterator[Traffic]:
    hosts = [host.address for host in sample.sandbox.hosts]
    since = int(time.time())
    with Traffic(hosts, path="/", rate=200, clients=6, check=whole_page, failover=True, max_seconds=240) as traffic:
        traffic.wait_for(SETTLE)
        yield traffic
        traffic.wait_for(SETTLE)
    if traffic.tally.failed:
        # Shown with a failed test: what each proxy said of the requests it could not serve.
        print(proxy_errors(sample, since))


def proxy_errors(sample, since: int) -> str:
    with SshExecutor.from_config(sample.load().config) as executor:
        return "\n".join(
            f"{host.address}: {line}" for host in sample.sandbox.hosts
            for line in executor.run(host.address, Command.from_argv(
                ["docker", "logs", "--timestamps", "--since", str(since), caddy_config.CONTAINER]), check=False,
            ).stderr.splitlines() if '"level":"error"' in line)


def assert_none_failed(traffic: Traffic, versions: set[str], *, moved: bool = False) -> None:
    tally = traffic.tally
    assert tally.requests >= 2 * SETTLE
    assert tally.failed == 0, str(tally)
    assert set(tally.answers) <= versions, str(tally)
    if not moved:
        assert tally.moved == 0, str(tally)


def built(sample, note: str) -> str:
    """A new version pushed to the registry, not deployed."""
    version = sample.commit(note)
    sample.load().build(ui="quiet")
    return version


def kamalnb(sample, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamalnb", *args], cwd=sample.path, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)


def web_containers(sample, host: str) -> dict[str, str]:
    """Every sample web container on `host`: name -> state."""
    with SshExecutor.from_config(sample.load().config) as executor:
        lines = executor.run(host, Command.from_argv(
            ["docker", "ps", "-a", "--filter", "label=service=sample", "--filter", "label=role=web",
             "--format", "{{.Names}} {{.State}}"])).stdout
    return dict(line.split() for line in lines.splitlines())


def slow_requests(sample, seconds: int, traffic: Traffic) -> list[threading.Thread]:
    """One request per host that stays `seconds` in flight, tallied with `traffic`'s."""

    def request(host: str) -> None:
        try:
            with urllib.request.urlopen(f"http://{host}/cgi-bin/slow?{seconds}", timeout=seconds + 10) as response:
                traffic.record(f"slow {response.read().decode().strip()}", None, 0)
        except OSError as error:
            traffic.record(None, f"slow request: {error}", 0)

    threads = [threading.Thread(target=request, args=(host.address,)) for host in sample.sandbox.hosts]
    for thread in threads:
        thread.start()
    return threads


@pytest.fixture
def running(sample) -> str:
    """One version on every host, no lock held: what each scenario starts from."""
    app = sample.load()
    if app.lock.status(ui="quiet").held:
        app.lock.release(force=True, ui="quiet")
    versions = set(sample.serving().values())
    if len(versions) != 1 or any(version.startswith("error") for version in versions):
        sample.load().deploy(ui="quiet")
        versions = set(sample.serving().values())
    assert len(versions) == 1
    return versions.pop()


def test_a_deploy_of_a_new_version(sample, running) -> None:
    new = sample.commit("a new version under load")
    with load(sample) as traffic:
        assert sample.load().deploy(ui="quiet").ok
    assert_none_failed(traffic, {running, new})
    assert traffic.tally.answers[new] >= SETTLE
    assert set(sample.serving().values()) == {new}


def test_a_deploy_of_the_running_version(sample, running) -> None:
    with load(sample) as traffic:
        report = sample.load(version=running).deploy(skip_push=True, ui="quiet")
    assert report.ok
    assert_none_failed(traffic, {running})
    assert set(sample.serving().values()) == {running}
    for host in sample.sandbox.hosts:
        assert list(web_containers(sample, host.address).values()).count("running") == 1


def test_a_rollback(sample, running) -> None:
    new = built(sample, "to roll back from")
    assert sample.load(version=new).deploy(skip_push=True, ui="quiet").ok
    with load(sample) as traffic:
        assert sample.load().rollback(running, ui="quiet").ok
    assert_none_failed(traffic, {running, new})
    assert set(sample.serving().values()) == {running}


def test_a_rolling_deploy_one_host_at_a_time(sample, running) -> None:
    new = built(sample, "rolling")
    with sample_app.config_edited(sample.path, lambda data: data.update(boot={"limit": 1})), load(sample) as traffic:
        assert sample.load(version=new).deploy(skip_push=True, ui="quiet").ok
    assert_none_failed(traffic, {running, new})
    assert set(sample.serving().values()) == {new}


def test_a_version_that_never_becomes_healthy(sample, running) -> None:
    new = built(sample, "never healthy")
    with (sample_app.config_edited(sample.path, lambda data: data["env"]["clear"].update(NEVER_HEALTHY="1")), load(sample) as traffic,
          pytest.raises(StepFailed, match="did not become healthy")):
        sample.load(version=new).deploy(skip_push=True, ui="quiet")
    assert_none_failed(traffic, {running})
    assert set(sample.serving().values()) == {running}


def test_a_rolling_proxy_reboot(sample, running) -> None:
    # Time enough for the slow requests to finish: the reboot drains for up to `drain_timeout`.
    with sample_app.config_edited(sample.path, lambda data: data.update(drain_timeout=20)), load(sample) as traffic:
        # In flight on every host while its proxy is replaced, however long the reboot takes to start.
        slow = slow_requests(sample, 10, traffic)
        rebooted = kamalnb(sample, "proxy", "reboot", "--rolling", "-y")
        for thread in slow:
            thread.join()
    assert rebooted.returncode == 0, rebooted.stderr
    assert_none_failed(traffic, {running, f"slow {running}"}, moved=True)
    assert set(sample.serving().values()) == {running}


def test_a_deploy_that_fails_on_its_last_host_leaves_the_old_version_everywhere(sample, running) -> None:
    new = built(sample, "fails on the last host")

    def change(data: dict[str, Any]) -> None:
        # The last host's tag sets an env that keeps the new version's /up from answering there.
        hosts = data["servers"]["web"]["hosts"]
        hosts[-1] = {hosts[-1]: ["broken"]}
        data["env"]["tags"] = {"broken": {"NEVER_HEALTHY": "1"}}
        data["boot"] = {"limit": 1}

    with (sample_app.config_edited(sample.path, change), load(sample) as traffic,
          pytest.raises(StepFailed, match="did not become healthy")):
        sample.load(version=new).deploy(skip_push=True, ui="quiet")
    assert_none_failed(traffic, {running, new})
    assert set(sample.serving().values()) == {running}


def lasting(phase: str, data: dict[str, Any]) -> None:
    """So that `phase` lasts long enough to be killed in: a slow health check, or a drain
    waiting for the slow requests in flight."""
    if phase == "health":
        data["env"]["clear"]["START_DELAY"] = "4"
    if phase == "drain":
        data["drain_timeout"] = 20


@pytest.mark.parametrize("phase", ["start", "health", "switch", "drain", "stop"])
def test_a_deploy_killed_in_each_boot_phase_then_deployed_again(sample, running, phase) -> None:
    new = built(sample, f"killed in {phase}")
    slow: list[threading.Thread] = []
    with load(sample) as traffic:
        with sample_app.config_edited(sample.path, lambda data: lasting(phase, data)):
            process = subprocess.Popen(
                [sys.executable, "-m", "kamalnb", "deploy", "-P", "--version", new], cwd=sample.path,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
                env={**os.environ, "KAMALNB_UI": "text"})
            assert process.stdout is not None
            seen = []
            for line in process.stdout:
                seen.append(line)
                if phase == "drain" and not slow and re.search(r"\] web start$", line.rstrip()):
                    slow = slow_requests(sample, 6, traffic)
                if re.search(rf"\] web {phase}$", line.rstrip()):
                    process.send_signal(signal.SIGKILL)
                    break
            process.stdout.close()
            assert process.wait(timeout=60) == -signal.SIGKILL, "".join(seen)
        for thread in slow:
            thread.join()
        # What the next deploy, refused, tells its user: the deploy holding the lock is gone.
        assert kamalnb(sample, "lock", "release").returncode == 0
        report = sample.load(version=new).deploy(skip_push=True, ui="quiet")
    assert report.ok
    assert_none_failed(traffic, {running, new, f"slow {running}"})
    assert set(sample.serving().values()) == {new}
    assert not sample.load().lock.status(ui="quiet").held
    for host in sample.sandbox.hosts:
        running_containers = [name for name, state in web_containers(sample, host.address).items()
                              if state == "running"]
        assert running_containers == [f"sample-web-{new}"], host.address
