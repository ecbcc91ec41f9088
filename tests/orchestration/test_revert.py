"""A deploy failing part way (`x-kamalnb: on_failure`), and the next deploy after a killed
one, against scripted hosts: what is switched back, in which order, and what is cleaned up."""

from __future__ import annotations

import re

import pytest

from kamalnb.errors import ConfigError, HostUnreachable, StepFailed
from kamalnb.events import Events, Notice
from tests.orchestration.conftest import HOSTS, PRIMARY, WEB_ROUTE

UP_CHECK = re.compile(r"^GET http://[\d.]+:3000/up$")
START_V1 = r"^docker start sample-web-v1$"
SWITCH = rf"mv -f \.\./{WEB_ROUTE}\.next "
STOP_V2 = r"name=\^sample-web-v2\$.*\| xargs docker stop"
SETTLE = rf"mv -f {WEB_ROUTE}\.\$idle\.tmp "


def outcomes(report):
    return {(o.host, o.role): o for o in report}


def position(executor, host: str, pattern: str, after: int = -1) -> int:
    """Where the first call on `host` matching `pattern` past `after` is among every host's calls."""
    regex = re.compile(pattern)
    for index, call in enumerate(executor.calls):
        if index > after and call.host == host and regex.search(call.text):
            return index
    raise AssertionError(f"nothing matching {pattern!r} ran on {host} after call {after}")


def serving(executor, host: str) -> str | None:
    return executor.host(host).serving(WEB_ROUTE)


def fail_health_on_last_host(project, executor) -> None:
    project.write_config(deploy_timeout=0)  # one health check, no waiting
    executor.on_http(UP_CHECK, hosts=[HOSTS[2]], status=503, body="booting")


def test_a_last_host_failing_switches_the_earlier_hosts_back_each_as_a_boot_does(project, deployed):
    executor = deployed
    fail_health_on_last_host(project, executor)

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    by = outcomes(failed.value.report)
    assert [(o.host, o.role, o.status, o.version_before, o.version_after) for o in failed.value.report] == [
        (HOSTS[0], "web", "reverted", "v1", "v1"), (HOSTS[1], "web", "reverted", "v1", "v1"),
        (HOSTS[2], "web", "failed", "v1", "v1"), (PRIMARY, "worker", "skipped", None, None)]
    assert by[(HOSTS[0], "web")].reason == f"switched back from v2 (sample-web-v2 stopped): {HOSTS[2]} failed"
    assert "did not become healthy" in by[(HOSTS[2], "web")].error_message
    # Switching back starts once the last host has failed (its new container stopped), and
    # on each host goes as a boot does: start the old container, check it, switch, drain, settle, stop.
    failed_at = position(executor, HOSTS[2], STOP_V2)
    for host in HOSTS[:2]:
        start = position(executor, host, START_V1)
        assert start > failed_at
        check = position(executor, host, r"inspect --format .*NetworkSettings.* sample-web-v1 ", start)
        switch = position(executor, host, SWITCH, check)
        settle = position(executor, host, SETTLE, switch)
        assert position(executor, host, STOP_V2, settle) > settle
        state = executor.host(host)
        assert state.upstreams(WEB_ROUTE) == ["sample-web-v1:3000"]
        assert state.state_of("sample-web-v2") == "exited"
    for host in HOSTS:
        assert serving(executor, host) == "sample-web-v1"
        assert executor.host(host).state_of("sample-web-v1") == "running"
    assert not executor.ran(r"^docker run .*--name sample-worker-")
    assert not executor.ran(r"^docker tag ")
    report_text = str(failed.value.report)
    assert "reverted" in report_text and "reason" in report_text
    assert failed.value.report.to_frame().loc[0, "reason"].startswith("switched back from v2")


def test_with_on_failure_keep_the_hosts_switched_before_a_failure_keep_the_new_version(project, deployed):
    executor = deployed
    fail_health_on_last_host(project, executor)
    project.write_config(deploy_timeout=0, **{"x-kamalnb": {"on_failure": "keep"}})

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    by = outcomes(failed.value.report)
    for host in HOSTS[:2]:
        assert (by[(host, "web")].status, by[(host, "web")].version_after) == ("ok", "v2")
        assert by[(host, "web")].reason == f"kept v2 (on_failure: keep) although {HOSTS[2]} failed"
        assert serving(executor, host) == "sample-web-v2"
    assert serving(executor, HOSTS[2]) == "sample-web-v1"
    assert not executor.ran(START_V1)


def test_a_failing_worker_wave_switches_every_web_host_back(project, deployed):
    executor = deployed
    project.write_config(boot={"limit": 3})
    executor.on(re.compile(r"^docker run .*--name sample-worker-v2 "), exit_status=125,
                stderr="docker: Error response from daemon: no such image\n")

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    by = outcomes(failed.value.report)
    assert {by[(host, "web")].status for host in HOSTS} == {"reverted"}
    assert by[(PRIMARY, "worker")].status == "failed" and by[(PRIMARY, "worker")].version_after == "v1"
    for host in HOSTS:
        assert serving(executor, host) == "sample-web-v1"
    assert executor.host(PRIMARY).state_of("sample-worker-v1") == "running"


def test_a_host_that_cannot_be_switched_back_is_named_with_what_it_serves(project, deployed):
    executor = deployed
    fail_health_on_last_host(project, executor)
    executor.on(re.compile(START_V1), hosts=[HOSTS[0]],
                raises=lambda host, text: HostUnreachable(host, "connection lost while running `docker start`"))

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    message = str(failed.value)
    assert f"\n  {HOSTS[0]}: could not switch back to v1, so it still serves v2: connection lost" in message
    by = outcomes(failed.value.report)
    assert (by[(HOSTS[0], "web")].status, by[(HOSTS[0], "web")].version_after) == ("failed", "v2")
    assert by[(HOSTS[1], "web")].status == "reverted"
    assert serving(executor, HOSTS[0]) == "sample-web-v2"
    assert serving(executor, HOSTS[1]) == "sample-web-v1"


def test_a_failed_redeploy_of_the_running_version_has_nothing_to_switch_back(project, deployed):
    executor = deployed
    fail_health_on_last_host(project, executor)

    with pytest.raises(StepFailed) as failed:
        project.load("v1").deploy(skip_push=True, executor=executor, ui="silent")

    by = outcomes(failed.value.report)
    assert by[(HOSTS[0], "web")].status == "ok"
    assert by[(HOSTS[0], "web")].reason == "kept v1: it ran before too"
    assert not executor.ran(r"^docker start ")


def test_on_failure_accepts_only_revert_or_keep(project, executor):
    project.write_config(**{"x-kamalnb": {"on_failure": "rollback"}})
    with pytest.raises(ConfigError, match="x-kamalnb/on_failure: should be revert or keep, not 'rollback'"):
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert executor.calls == []


# ---- what a killed deploy left ----------------------------------------------------------------

def test_the_next_deploy_cleans_up_what_a_killed_deploy_left_and_says_so(project, deployed):
    executor = deployed
    # HOSTS[0]: killed during health, a new container running that was never switched to.
    executor.host(HOSTS[0]).add_container("sample-web-v2", "web", "registry.test:5000/sample/app:v2")
    # HOSTS[1]: killed during drain, the route on v2 with v1 still running in its second slot.
    second = executor.host(HOSTS[1])
    new = second.add_container("sample-web-v2", "web", "registry.test:5000/sample/app:v2")
    slots = second.slots[WEB_ROUTE]
    idle = "b" if slots["live"] == "a" else "a"
    slots[idle], slots["live"] = f"{new.id}:3000", idle
    # HOSTS[2]: killed right after renaming v1 aside for a redeploy of v1.
    third = executor.host(HOSTS[2])
    third.containers["sample-web-v1_replaced_0123456789abcdef"] = third.containers.pop("sample-web-v1")
    third.containers["sample-web-v1_replaced_0123456789abcdef"].name = "sample-web-v1_replaced_0123456789abcdef"
    notices: list[Notice] = []

    report = project.load("v3").deploy(skip_push=True, executor=executor, ui="silent",
                                       events=Events(lambda event: notices.append(event)
                                                     if isinstance(event, Notice) else None))

    assert report.ok
    assert report.notes == [
        f"{HOSTS[0]} web: removed sample-web-v2: running, never switched to (left by an interrupted deploy)",
        f"{HOSTS[1]} web: stopped sample-web-v1 once drained: the route still had it beside sample-web-v2 "
        "(left by an interrupted deploy while draining)",
        f"{HOSTS[2]} web: renamed sample-web-v1_replaced_0123456789abcdef, which serves, back to sample-web-v1 "
        "(left by an interrupted deploy after renaming it aside)"]
    assert [f"{n.host} {n.role}: {n.text}" for n in notices] == report.notes
    assert report.notes[0] in str(report)
    # On each host, cleaned up before its new container starts.
    assert position(executor, HOSTS[1], STOP_V1_ANY) < position(executor, HOSTS[1], r"^docker run .*sample-web-v3 ")
    assert executor.host(HOSTS[0]).state_of("sample-web-v2") is None
    for host in HOSTS:
        state = executor.host(host)
        assert [c.name for c in state.running("web")] == ["sample-web-v3"]
        assert state.upstreams(WEB_ROUTE) == ["sample-web-v3:3000"]


STOP_V1_ANY = r"name=\^sample-web-v1\$.*\| xargs docker stop"


def test_a_deploy_killed_while_stopping_the_old_version_leaves_it_for_a_rollback(project, deployed):
    executor = deployed
    for number, host in enumerate(HOSTS[:2]):
        state = executor.host(host)
        old = state.containers["sample-web-v1"]
        new = state.add_container("sample-web-v2", "web", "registry.test:5000/sample/app:v2")
        slots = state.slots[WEB_ROUTE]
        idle = "b" if slots["live"] == "a" else "a"
        slots[idle], slots["live"] = f"{new.id}:3000", idle
        if number == 0:
            # Killed after settling, before the stop: both slots on v2, v1 still running.
            slots["b" if idle == "a" else "a"] = f"{new.id}:3000"
        else:
            # Killed after the stop, before settling (an earlier kamalnb's order): v1 stopped, still in a slot.
            old.state = "exited"

    report = project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    assert report.ok
    assert report.notes == [
        f"{HOSTS[0]} web: stopped sample-web-v1, the earlier version still running beside sample-web-v2 "
        "(left by an interrupted deploy while stopping it)",
        f"{HOSTS[1]} web: pointed the route's second target {executor.host(HOSTS[1]).containers['sample-web-v1'].id}"
        ":3000, a stopped container, at sample-web-v2 (left by an interrupted deploy)"]
    for host in HOSTS[:2]:
        state = executor.host(host)
        assert state.state_of("sample-web-v1") == "exited"  # kept: `rollback v1` starts it again
        assert state.upstreams(WEB_ROUTE) == ["sample-web-v2:3000"]
    assert project.load("v2").rollback("v1", executor=executor, ui="silent").ok
    assert all(serving(executor, host) == "sample-web-v1" for host in HOSTS)


def test_a_clean_fleet_has_nothing_to_clean_up(project, deployed):
    report = project.load("v2").deploy(skip_push=True, executor=deployed, ui="silent")
    assert report.ok and report.notes == []
    assert "recover" not in {phase.phase for phase in report.phases}


def test_a_role_without_the_proxy_keeps_its_current_container_and_stops_the_one_a_killed_deploy_left(
        project, deployed):
    executor = deployed
    executor.host(PRIMARY).add_container("sample-worker-v2", "worker", "registry.test:5000/sample/app:v2")

    report = project.load("v3").deploy(skip_push=True, executor=executor, ui="silent")

    assert report.ok
    assert report.notes == [f"{PRIMARY} worker: stopped sample-worker-v2, a second running container beside "
                            "sample-worker-v1 (left by an interrupted deploy)"]
    assert [c.name for c in executor.host(PRIMARY).running("worker")] == ["sample-worker-v3"]
