"""The Caddy driver against real hosts: boot, switch, drain, persistence, refusal, and
switch storms under load that must not drop, reset or mix a single request."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import HostError
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.facts import container_ref
from kamalnb.proxy import CaddyDriver, Route
from kamalnb.sandbox import sample_app
from kamalnb.sandbox.traffic import Traffic

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def host(sandbox) -> str:
    return sandbox.hosts[1].address


@pytest.fixture(scope="module")
def driver(sandbox, host):
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)))
    proxy = CaddyDriver(executor, sandbox.proxy_image)
    proxy.purge(host)  # no route or slot file kept from an earlier run
    yield proxy
    proxy.purge(host)
    executor.close()


@pytest.fixture(scope="module")
def apps(sandbox, driver, host):
    """Two versions of the sample app on the `kamal` network, as the proxy dials them (`id:80`)."""
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
    yield [f"{driver.executor.read(host, container_ref(name))}" for name in names]
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


def caddy_config(driver, host) -> dict:
    return json.loads(driver.executor.http(host, "GET", "127.0.0.1", 2019, "/config/").text)


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

    # A proxy from an older kamalnb resumes a configuration with no shutdown delay: the
    # reboot gives it one.
    delay = "/config/apps/http/shutdown_delay"
    assert driver.executor.http(host, "DELETE", "127.0.0.1", 2019, delay).ok
    driver.reboot(host, 30)
    wait_up(host, "v2")
    assert "kamalnb-proxy" in driver.details(host)
    assert json.loads(driver.executor.http(host, "GET", "127.0.0.1", 2019, delay).text) == "1s"

    # The proxy dials the container's ID: renaming it (as a redeploy of the running version
    # does, `_replaced_`) moves nothing.
    run = driver.executor.run
    run(host, Command.from_argv(["docker", "rename", "proxycheck-v2", "proxycheck-v2_replaced_0"]))
    try:
        assert get(host) == "v2"
    finally:
        run(host, Command.from_argv(["docker", "rename", "proxycheck-v2_replaced_0", "proxycheck-v2"]))

    hosted = Route("other-web", hosts=("other.test",))
    driver.switch(host, hosted, f"{v1}:80")
    assert get(host, host_header="other.test") == "v1"
    assert get(host) == "v2"
    assert [r.id for r in driver.routes(host)][:1] == ["other-web"]
    driver.remove_route(host, "other-web")
    assert get(host, host_header="other.test") == "v2"


def switch_storm(driver, host, route: Route, targets: list[str], *, switches: int, method: str = "GET"):
    """`switches` switches as a deploy does them (switch, drain, settle) while clients loop
    at about 200 requests/s; the clients' tally and Caddy's configuration before and after."""
    driver.switch(host, route, targets[0])
    wait_up(host, "v1")
    before = caddy_config(driver, host)
    path = "/cgi-bin/echo" if method == "POST" else "/version"
    done = 0
    with Traffic(host, path=path, method=method, rate=200, clients=4, max_requests=50_000,
                 max_seconds=180) as traffic:
        time.sleep(0.3)
        while done < switches and traffic.running:
            previous = driver.switch(host, route, targets[(done + 1) % 2])
            assert previous == targets[done % 2]
            assert driver.wait_drained(host, previous, 5)
            driver.settle(host, route, targets[(done + 1) % 2])
            done += 1
        time.sleep(0.3)
    assert done == switches, f"the clients stopped after {done} switches: {traffic.tally}"
    return traffic.tally, before, caddy_config(driver, host)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_500_switches_under_load_drop_reset_or_mix_nothing(driver, apps, host, method) -> None:
    targets = [f"{ref}:80" for ref in apps]
    tally, before, after = switch_storm(driver, host, Route("proxycheck-web"), targets, switches=500, method=method)
    # Counts, not times: not one reset, not one non-200, every body a whole version.
    assert tally.failures == {}, tally
    assert set(tally.answers) == {"200 v1", "200 v2"}, tally
    assert tally.requests >= 1000, tally
    # The switches changed nothing in Caddy's configuration: no reload happened.
    assert after == before


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
        # Every verb says so in the same one line, rather than "cannot reach 127.0.0.1:2019".
        for verb in (driver.details, driver.logs, lambda host: driver.reboot(host, 30), driver.restart, driver.stop,
                     driver.remove, driver.claims, driver.served_certificates):
            with pytest.raises(HostError, match=r"^.*runs Kamal's kamal-proxy, which holds ports 80 and 443"):
                verb(other)
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


@pytest.mark.timeout(120)
def test_maintenance_under_load_answers_503_only_while_on_and_lets_requests_finish(driver, apps, host) -> None:
    v1, _ = apps
    route = Route("proxycheck-web")
    driver.switch(host, route, f"{v1}:80")
    wait_up(host, "v1")
    answers: list[str] = []
    with Traffic(host, rate=200, clients=4, max_requests=20_000, max_seconds=60) as traffic:
        time.sleep(1)
        slow = threading.Thread(target=lambda: answers.append(get(host, "/cgi-bin/slow?2")))
        slow.start()
        time.sleep(0.3)
        driver.maintenance(host, route, "<p>back soon</p>")
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(host)
        assert refused.value.code == 503 and refused.value.read().decode() == "<p>back soon</p>"
        [state] = [r for r in driver.routes(host) if r.id == route.id]
        assert state.maintenance
        time.sleep(2)
        driver.maintenance(host, route, None)
        assert get(host) == "v1"
        time.sleep(1)
        slow.join()
    tally = traffic.tally
    # The request in flight when maintenance began finished; every other answer is a whole
    # version or the maintenance page: no reset, no 502, at neither edge.
    assert answers == ["v1"]
    assert set(tally.answers) == {"200 v1"} and set(tally.failures) == {"503 <p>back soon</p>"}, tally
    assert tally.failures["503 <p>back soon</p>"] >= 100, tally


def test_boot_config_is_kept_for_the_next_boot_and_reset(driver, apps, host) -> None:
    v1, _ = apps
    driver.switch(host, Route("proxycheck-web"), f"{v1}:80")
    driver.boot_config_set(host, {"http_port": 8080, "log_max_size": "1m"})
    assert driver.boot_config_get(host) == {"http_port": 8080, "log_max_size": "1m"}
    try:
        driver.reboot(host, 30)
        wait_up(f"{host}:8080", "v1")
    finally:
        driver.boot_config_reset(host)
        driver.reboot(host, 30)
    assert driver.boot_config_get(host) == {}
    wait_up(host, "v1")
