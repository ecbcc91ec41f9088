"""The Caddy driver against real hosts: boot, switch, drain, persistence, refusal."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import HostError
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.proxy import CaddyDriver, Route
from kamalnb.sandbox import sample_app

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def host(sandbox) -> str:
    return sandbox.hosts[1].address


@pytest.fixture(scope="module")
def driver(sandbox, host):
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)))
    proxy = CaddyDriver(executor, sandbox.proxy_image)
    yield proxy
    proxy.remove(host)
    executor.close()


@pytest.fixture(scope="module")
def apps(sandbox, driver, host):
    """Two versions of the sample app on the `kamal` network."""
    image = sample_app.build(sandbox, "proxy-check")
    driver.boot(host)
    # The tag is reused across runs: pull, or the host would run what it cached last time.
    driver.executor.run(host, Command.from_argv(["docker", "pull", "-q", image]))
    names = []
    for version in ("v1", "v2"):
        name = f"proxycheck-{version}"
        driver.executor.run(host, Command.from_argv(["docker", "rm", "-f", name]))
        driver.executor.run(host, Command.from_argv(
            ["docker", "run", "-d", "--name", name, "--network", "kamal", "-e", f"KAMAL_VERSION={version}", image]))
        names.append(name)
    yield names
    driver.executor.run(host, Command.from_argv(["docker", "rm", "-f", *names]))


def get(host: str, path: str = "/version", host_header: str | None = None) -> str:
    request = urllib.request.Request(f"http://{host}{path}", headers={"Host": host_header} if host_header else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode().strip()


def wait_up(host: str, expected: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if get(host) == expected:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{host} never served {expected}")


def test_boot_is_idempotent_and_routes_switch_and_survive_a_restart(driver, apps, host) -> None:
    v1, v2 = apps
    driver.boot(host)
    route = Route("proxycheck-web")
    assert driver.switch(host, route, f"{v1}:80") is None
    wait_up(host, "v1")
    assert driver.switch(host, route, f"{v2}:80") == f"{v1}:80"
    assert get(host) == "v2"
    [state] = [r for r in driver.routes(host) if r.id == "proxycheck-web"]
    assert state.upstreams == (f"{v2}:80", f"{v1}:80")
    assert state.in_flight == {f"{v2}:80": 0, f"{v1}:80": 0}
    driver.settle(host, route, f"{v2}:80")
    [state] = [r for r in driver.routes(host) if r.id == "proxycheck-web"]
    assert state.upstreams == (f"{v2}:80",)

    driver.reboot(host)
    wait_up(host, "v2")
    assert "kamalnb-proxy" in driver.details(host)

    hosted = Route("other-web", hosts=("other.test",))
    driver.switch(host, hosted, f"{v1}:80")
    assert get(host, host_header="other.test") == "v1"
    assert get(host) == "v2"
    assert [r.id for r in driver.routes(host)][:1] == ["other-web"]
    driver.remove_route(host, "other-web")
    assert get(host, host_header="other.test") == "v2"


def test_requests_survive_routes_switching_under_load(driver, apps, host) -> None:
    v1, v2 = apps
    route = Route("proxycheck-web")
    driver.switch(host, route, f"{v1}:80")
    wait_up(host, "v1")
    stop = threading.Event()
    outcomes: dict[str, int] = {}

    def load() -> None:
        while not stop.is_set():
            try:
                key = get(host)
            except (OSError, urllib.error.URLError) as error:
                key = f"error: {error}"
            with lock:
                outcomes[key] = outcomes.get(key, 0) + 1

    lock = threading.Lock()
    clients = [threading.Thread(target=load) for _ in range(4)]
    for client in clients:
        client.start()
    # At least 40 switches, and on until the clients made 400 requests through them.
    switches, deadline = 0, time.monotonic() + 60
    try:
        while (switches < 40 or sum(outcomes.values()) < 400) and time.monotonic() < deadline:
            driver.switch(host, route, f"{v2}:80")
            driver.switch(host, route, f"{v1}:80")
            switches += 2
    finally:
        stop.set()
        for client in clients:
            client.join()
    # Every answer is a whole version: no 502, no empty or mixed page. Caddy reloads its
    # configuration on each switch; with tcp_migrate_req the kernel hands queued connections
    # to the new listener, which took resets from one every 4 switches to about one every
    # 200. The rest is not found yet: allow that many resets, and nothing else.
    answered = outcomes.get("v1", 0) + outcomes.get("v2", 0)
    failures = {key: count for key, count in outcomes.items() if key not in ("v1", "v2")}
    assert answered >= 400 and outcomes.get("v1") and outcomes.get("v2"), outcomes
    assert all("Connection reset by peer" in key for key in failures), failures
    assert sum(failures.values()) <= 2, outcomes


def test_draining_with_nothing_in_flight_does_not_wait_for_the_timeout(driver, apps, host) -> None:
    v1, v2 = apps
    route = Route("proxycheck-web")
    driver.switch(host, route, f"{v1}:80")
    previous = driver.switch(host, route, f"{v2}:80")
    start = time.monotonic()
    assert driver.wait_drained(host, previous, 30)
    assert time.monotonic() - start < 10


def test_a_host_running_kamal_proxy_is_refused(sandbox, driver) -> None:
    other = sandbox.hosts[2].address
    run = driver.executor.run
    run(other, Command.from_argv(["docker", "run", "-d", "--name", "kamal-proxy", sandbox.base_image, "sleep", "60"]))
    try:
        with pytest.raises(HostError, match="runs Kamal's kamal-proxy, which holds ports 80 and 443"):
            driver.boot(other)
        assert "kamalnb-proxy" not in driver.details(other)
    finally:
        run(other, Command.from_argv(["docker", "rm", "-f", "kamal-proxy"]))


def test_draining_waits_for_the_request_in_flight_and_no_longer(driver, apps, host) -> None:
    v1, v2 = apps
    route = Route("proxycheck-web")
    driver.switch(host, route, f"{v1}:80")
    wait_up(host, "v1")
    answers: list[str] = []
    slow = threading.Thread(target=lambda: answers.append(get(host, "/cgi-bin/slow?2")))
    slow.start()
    time.sleep(0.5)
    previous = driver.switch(host, route, f"{v2}:80")
    assert previous == f"{v1}:80"
    assert get(host) == "v2"
    assert driver.wait_drained(host, previous, 0.2) is False
    start = time.monotonic()
    assert driver.wait_drained(host, previous, 10) is True
    assert 0.5 < time.monotonic() - start < 10
    slow.join()
    assert answers == ["v1"]
    driver.settle(host, route, f"{v2}:80")
    assert get(host) == "v2"
