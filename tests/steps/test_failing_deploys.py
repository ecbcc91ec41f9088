"""Deploys that fail part way on real hosts, under traffic: a host never healthy, sshd killed,
a link down, and kamalnb itself killed at each boot phase. Faults are triggered from the
deploy's own events (or its output), never after a sleep, and each host is restored after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import StepFailed
from kamalnb.events import Event, Events, HostStarted
from kamalnb.executors import SshExecutor
from kamalnb.proxy.caddy import CaddyDriver
from kamalnb.sandbox import Sandbox, faults
from kamalnb.sandbox.traffic import Tally, Traffic

pytestmark = pytest.mark.sandbox

ROUTE = "sample-web"


def on_phase(host: str, phase: str, fault: Callable[[], None]) -> Events:
    """Events that run `fault` once, when `host` starts `phase` of its web role."""
    fired: list[bool] = []

    def listener(event: Event) -> None:
        if (isinstance(event, HostStarted) and event.host == host and event.phase == phase
                and event.role == "web" and not fired):
            fired.append(True)
            fault()

    return Events(listener)


# ---- reading the fleet ---------------------------------------------------------------------

@contextmanager
def traffic(sandbox: Sandbox) -> Iterator[list[Traffic]]:
    clients = [Traffic(host.address, rate=60, clients=2, timeout=5) for host in sandbox.hosts]
    for client in clients:
        client.start()
    try:
        yield clients
    finally:
        for client in clients:
            client.stop()


def tally(clients: list[Traffic]) -> Tally:
    total = Tally()
    for client in clients:
        total.answers.update(client.tally.answers)
        total.failures.update(client.tally.failures)
    return total


def running(sample, host: str) -> dict[str, list[str]]:
    """Running containers of the sample app on `host`, by role."""
    with SshExecutor.from_config(sample.load().config) as executor:
        lines = executor.run(host, Command.from_argv(
            ["docker", "ps", "--filter", "label=service=sample", "--format", '{{.Label "role"}} {{.Names}}'])).stdout
    found: dict[str, list[str]] = {}
    for line in lines.splitlines():
        role, name = line.split()
        found.setdefault(role, []).append(name)
    return found


def targets(sample, host: str) -> tuple[str, ...]:
    app = sample.load()
    with SshExecutor.from_config(app.config) as executor:
        return CaddyDriver(executor, "unused").targets(host, ROUTE)


def assert_clean(sample, version: str) -> None:
    """One running container per role per host, of `version`, and one route target."""
    hosts = [host.address for host in sample.sandbox.hosts]
    for host in hosts:
        found = running(sample, host)
        assert found["web"] == [f"sample-web-{version}"], found
        assert len(targets(sample, host)) == 1
    assert running(sample, hosts[0])["worker"] == [f"sample-worker-{version}"]
    assert set(sample.serving().values()) == {version}


def break_host(address: str) -> Callable[[dict], None]:
    """A config change giving `address` an env under which the app never becomes healthy."""
    def change(data: dict) -> None:
        hosts = data["servers"]["web"]["hosts"]
        data["servers"]["web"]["hosts"] = [{host: "broken"} if host == address else host for host in hosts]
        data["env"]["tags"] = {"broken": {"NEVER_HEALTHY": "1"}}
    return change


def mend(data: dict) -> None:
    data["servers"]["web"]["hosts"] = [next(iter(h)) if isinstance(h, dict) else h
                                       for h in data["servers"]["web"]["hosts"]]
    data["env"].pop("tags", None)
    data["x-kamalnb"].pop("on_failure", None)


# ---- a host that fails after the others switched ---------------------------------------------

def test_a_deploy_failing_on_its_last_host_switches_the_others_back_dropping_no_request(sample) -> None:
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    last = sample.sandbox.hosts[2].address
    broken = sample.edit_config(break_host(last))
    with traffic(sample.sandbox) as clients, pytest.raises(StepFailed) as failed:
        sample.load().deploy(ui="quiet")
    seen = tally(clients)
    assert seen.failed == 0, seen
    assert seen.requests > 0 and set(seen.answers) <= {f"200 {before}", f"200 {broken}"}

    message = str(failed.value)
    assert message.startswith(f"deploy failed on {last}: {last}: sample-web-{broken} did not become healthy")
    rows = {(o.host, o.role): o for o in failed.value.report}
    for host in sample.sandbox.hosts[:2]:
        row = rows[(host.address, "web")]
        assert (row.status, row.version_before, row.version_after) == ("reverted", before, before)
        assert row.reason == f"switched back from {broken} (sample-web-{broken} stopped): {last} failed"
    assert (rows[(last, "web")].status, rows[(last, "web")].version_after) == ("failed", before)
    assert rows[(sample.sandbox.hosts[0].address, "worker")].status == "skipped"
    assert set(sample.serving().values()) == {before}
    for host in sample.sandbox.hosts:
        assert running(sample, host.address)["web"] == [f"sample-web-{before}"]
        assert len(targets(sample, host.address)) == 1
    frame = failed.value.report.to_frame()
    assert list(frame["status"]) == ["reverted", "reverted", "failed", "skipped"]


def test_with_on_failure_keep_the_mixed_fleet_stays_and_the_report_says_so(sample) -> None:
    sample.edit_config(mend)
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    last = sample.sandbox.hosts[2].address

    def keep_and_break(data: dict) -> None:
        break_host(last)(data)
        data["x-kamalnb"]["on_failure"] = "keep"

    broken = sample.edit_config(keep_and_break)
    with pytest.raises(StepFailed) as failed:
        sample.load().deploy(ui="quiet")
    rows = {(o.host, o.role): o for o in failed.value.report}
    for host in sample.sandbox.hosts[:2]:
        row = rows[(host.address, "web")]
        assert (row.status, row.version_after) == ("ok", broken)
        assert row.reason == f"kept {broken} (on_failure: keep) although {last} failed"
    serving = sample.serving()
    assert [serving[host.address] for host in sample.sandbox.hosts] == [broken, broken, before]
    sample.edit_config(mend)


# ---- a host lost mid-deploy ----------------------------------------------------------------------

def test_sshd_killed_on_one_host_mid_deploy_switches_the_others_back_and_names_it(sample) -> None:
    sample.edit_config(mend)
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    lost = sample.sandbox.hosts[2]
    after = sample.commit("a version one host never gets")
    with ExitStack() as faults_made:
        events = on_phase(lost.address, "health",
                          lambda: faults_made.enter_context(faults.sshd_killed(sample.sandbox, lost.name)))
        with traffic(sample.sandbox) as clients, pytest.raises(StepFailed) as failed:
            sample.load().deploy(ui="quiet", events=events)
    seen = tally(clients)
    assert seen.failed == 0, seen
    assert str(failed.value).startswith(f"deploy failed on {lost.address}: {lost.address}: ")
    rows = {(o.host, o.role): o for o in failed.value.report}
    assert {rows[(host.address, "web")].status for host in sample.sandbox.hosts[:2]} == {"reverted"}
    assert set(sample.serving().values()) == {before}

    # The host came back with the new container left running there, never switched to:
    # the next deploy says so and removes it.
    report = sample.load(version=after).deploy(skip_push=True, ui="quiet")
    assert f"{lost.address} web: removed sample-web-{after}: running, never switched to" in "\n".join(report.notes)
    assert_clean(sample, after)


def test_a_link_down_mid_deploy_fails_that_host_within_the_timeouts_and_names_it(sample) -> None:
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    lost = sample.sandbox.hosts[2]
    sample.commit("a version one host never gets")
    with ExitStack() as faults_made:
        events = on_phase(lost.address, "health",
                          lambda: faults_made.enter_context(faults.link_down(sample.sandbox, lost.name)))
        with pytest.raises(StepFailed) as failed:
            sample.load().deploy(ui="quiet", events=events)
    deploy_timeout = sample.load().config.deploy_timeout
    row = {(o.host, o.role): o for o in failed.value.report}[(lost.address, "web")]
    assert row.status == "failed" and row.duration < 3 * deploy_timeout, row
    message = str(failed.value)
    assert message.startswith(f"deploy failed on {lost.address}: {lost.address}: no answer within 5 s")
    assert set(sample.serving().values()) == {before}


# ---- kamalnb killed ---------------------------------------------------------------------------

@pytest.mark.parametrize("phase", ["start", "health", "switch", "drain", "stop"])
def test_a_deploy_killed_at_each_boot_phase_is_cleaned_up_by_the_next_dropping_no_request(sample, phase) -> None:
    sample.load().deploy(ui="quiet")
    version = sample.commit(f"killed at {phase}")
    first = sample.sandbox.hosts[0].address
    with traffic(sample.sandbox) as clients:
        process = subprocess.Popen(
            [sys.executable, "-m", "kamalnb", "deploy"], cwd=sample.path, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env={**os.environ, "KAMALNB_UI": "text"})
        seen = []
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if line.strip() == f"[{first}] web {phase}":
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
        output = "".join(seen)
        assert process.returncode == -signal.SIGKILL, output

        app = sample.load()
        assert app.lock.status(ui="quiet").held  # as Kamal: a killed deploy's lock stays
        app.lock.release(ui="quiet")
        report = sample.load(version=version).deploy(skip_push=True, ui="quiet")
    seen_traffic = tally(clients)
    assert seen_traffic.failed == 0, seen_traffic
    assert report.ok
    if phase != "start":
        assert report.notes, output
        assert all("left by an interrupted deploy" in note for note in report.notes)
    assert_clean(sample, version)
