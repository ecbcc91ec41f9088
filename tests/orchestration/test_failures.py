"""Failure paths that are hard to hit on real hosts: a failing wave, a refused switch,
an unreachable host, a held lock, and an interrupt at every phase of a boot."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kamalnb.errors import HealthCheckFailed, HostError, HostsFailed, HostUnreachable, LockHeld, StepFailed
from tests.orchestration.conftest import HOSTS, LOCK_DIR, PRIMARY, WEB_ROUTE

RUN_V2_WEB = re.compile(r"^docker run .*--name sample-web-v2 ")


def outcomes(report):
    return {(o.host, o.role): o for o in report}


def assert_serves(executor, host: str, container: str) -> None:
    """`host`'s proxy sends new requests to `container`, which runs."""
    state = executor.host(host)
    assert state.serving(WEB_ROUTE) == container, state.routes
    assert state.state_of(container) == "running"


def assert_lock_free(executor) -> None:
    assert executor.ran(f"rm -r {LOCK_DIR}$", PRIMARY), "the lock was never released"
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)


# ---- a failing wave ---------------------------------------------------------------------------

def test_with_on_failure_keep_a_failing_second_wave_keeps_the_first_switched_and_skips_the_rest(project, deployed):
    executor = deployed
    project.write_config(**{"x-kamalnb": {"on_failure": "keep"}})
    executor.on(RUN_V2_WEB, hosts=[HOSTS[1]], exit_status=125,
                stderr="docker: Error response from daemon: failed to create task for container: OCI runtime create "
                       "failed: exec: \"bin/start\": permission denied\n")

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    assert f"failed on {HOSTS[1]}" in str(failed.value)
    report = failed.value.report
    by = outcomes(report)
    assert [(o.host, o.role, o.status) for o in report] == [
        (HOSTS[0], "web", "ok"), (HOSTS[1], "web", "failed"), (HOSTS[2], "web", "skipped"),
        (PRIMARY, "worker", "skipped")]
    assert "exited with status 125" in by[(HOSTS[1], "web")].error_message
    assert "permission denied" in by[(HOSTS[1], "web")].error_message
    assert f"{HOSTS[1]} failed first" in by[(HOSTS[2], "web")].error_message
    assert by[(HOSTS[0], "web")].reason == f"kept v2 (on_failure: keep) although {HOSTS[1]} failed"
    assert by[(HOSTS[1], "web")].version_after == "v1"

    assert_serves(executor, HOSTS[0], "sample-web-v2")           # wave 1 switched
    assert executor.host(HOSTS[0]).state_of("sample-web-v1") == "exited"
    assert_serves(executor, HOSTS[1], "sample-web-v1")           # the failed host keeps the old version
    assert executor.host(HOSTS[1]).state_of("sample-web-v2") != "running"
    assert_serves(executor, HOSTS[2], "sample-web-v1")           # later waves untouched
    assert not executor.ran(r"^docker run ", HOSTS[2])
    assert not executor.ran(r"^docker run .*--name sample-worker-")
    assert not executor.ran(r"^docker tag |^docker image prune ")

    assert_lock_free(executor)
    assert project.hooks()[-2:] == [("post-app-boot", HOSTS[0]), ("pre-app-boot", HOSTS[1])]
    assert "post-deploy" not in project.hook_names()


def test_a_version_that_never_becomes_healthy_is_stopped_and_the_old_one_keeps_serving(project, deployed):
    executor = deployed
    project.write_config(deploy_timeout=0)  # one health check, no waiting
    executor.on_http(re.compile(r"^GET http://[\d.]+:3000/up$"), hosts=[HOSTS[1]], status=503, body="booting")

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    by = outcomes(failed.value.report)
    assert by[(HOSTS[1], "web")].status == "failed"
    assert isinstance(by[(HOSTS[1], "web")].error, HealthCheckFailed)
    assert "did not become healthy" in by[(HOSTS[1], "web")].error_message
    assert by[(HOSTS[2], "web")].status == "skipped"
    # The new container ran, failed its check, and was stopped before any route change.
    assert executor.index(r"name=\^sample-web-v2\$.*\| xargs docker stop", HOSTS[1]) > \
        executor.index(RUN_V2_WEB, HOSTS[1])
    assert executor.host(HOSTS[1]).state_of("sample-web-v2") == "exited"
    assert not [t for t in executor.commands(HOSTS[1], kind="http") if t.startswith(("PATCH", "PUT", "POST"))]
    assert_serves(executor, HOSTS[1], "sample-web-v1")
    assert_serves(executor, HOSTS[0], "sample-web-v1")  # switched, then switched back
    assert by[(HOSTS[0], "web")].status == "reverted"
    assert_lock_free(executor)
    assert "post-deploy" not in project.hook_names()


def test_a_switch_the_proxy_refuses_stops_the_new_container_and_keeps_the_old_route(project, deployed):
    executor = deployed
    executor.on(re.compile(rf"mv -f \.\./{WEB_ROUTE}\.next "), hosts=[HOSTS[0]], exit_status=1,
                stderr="mv: cannot move '../sample-web.next': No space left on device\n")

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    web = outcomes(failed.value.report)[(HOSTS[0], "web")]
    assert "No space left on device" in web.error_message
    assert executor.host(HOSTS[0]).state_of("sample-web-v2") == "exited"
    assert executor.host(HOSTS[0]).upstreams(WEB_ROUTE) == ["sample-web-v1:3000"]
    assert_serves(executor, HOSTS[0], "sample-web-v1")
    assert not executor.ran(r"^docker run ", HOSTS[1])
    assert_lock_free(executor)


# ---- unreachable hosts ------------------------------------------------------------------------

def no_route(host: str, text: str) -> HostUnreachable:
    return HostUnreachable(host, f"ssh: connect to host {host} port 22: No route to host")


def test_a_host_unreachable_during_pull_is_named_and_nothing_boots(project, deployed):
    executor = deployed
    executor.on(re.compile(r"^docker pull "), hosts=[HOSTS[1]], raises=no_route)

    with pytest.raises(StepFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    assert str(failed.value).startswith(f"pull failed on {HOSTS[1]}: ")
    assert "No route to host" in str(failed.value)
    by = {o.host: o for o in failed.value.report}
    assert isinstance(by[HOSTS[1]].error, HostUnreachable) and by[HOSTS[1]].error.host == HOSTS[1]
    assert by[HOSTS[0]].ok and by[HOSTS[2]].ok
    assert not executor.ran(r"^docker run ")
    assert not executor.ran(f"^mkdir {LOCK_DIR}")  # the lock is taken after the pull
    assert project.hook_names() == ["pre-connect"]


def test_a_host_unreachable_from_the_start_is_named_before_anything_is_pulled(project, deployed):
    executor = deployed
    executor.on(lambda host, text: True, hosts=[HOSTS[1]], raises=no_route)

    with pytest.raises(HostsFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    assert str(failed.value).startswith(f"Checks before any change failed on {HOSTS[1]}:")
    assert "No route to host" in str(failed.value)
    assert failed.value.hosts == [HOSTS[1]]
    assert not executor.ran(r"^docker (pull|run|image rm) ")
    assert not executor.ran(f"^mkdir {LOCK_DIR}")
    assert project.hook_names() == ["pre-connect"]


def test_an_unreachable_primary_host_stops_the_deploy_before_the_lock(project, deployed):
    executor = deployed
    executor.on(f"mkdir {LOCK_DIR}", hosts=[PRIMARY], raises=no_route)
    with pytest.raises(HostError) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert failed.value.host == PRIMARY
    assert not executor.ran(r"^docker run ")
    assert "pre-deploy" not in project.hook_names()


# ---- the lock ---------------------------------------------------------------------------------

KAMAL_LOCK = "Locked by: Alice Ops at {at}\nVersion: v0\nMessage: database migration by hand"


def kamal_lock(age: timedelta) -> str:
    at = (datetime.now(UTC) - age).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return KAMAL_LOCK.format(at=at)


def test_a_held_lock_refuses_the_deploy_names_the_holder_and_boots_nothing(project, deployed):
    executor = deployed
    executor.host(PRIMARY).hold_lock(LOCK_DIR, kamal_lock(timedelta(minutes=5)))
    details_before = dict(executor.host(PRIMARY).files)

    with pytest.raises(LockHeld) as refused:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    message = str(refused.value)
    assert f"Deploy lock found on {PRIMARY}" in message
    assert "Locked by: Alice Ops" in message and "Message: database migration by hand" in message
    assert "Version: v0" in message and "STALE" not in message
    assert executor.ran(rf"^mkdir {LOCK_DIR} ", PRIMARY) and executor.ran(rf"^stat {LOCK_DIR} ", PRIMARY)
    assert not executor.ran(r"^docker run |xargs docker stop")
    # Someone else's lock is left exactly as it was.
    assert not executor.ran(f"rm -r {LOCK_DIR}")
    assert executor.host(PRIMARY).lock_held(LOCK_DIR) and executor.host(PRIMARY).files == details_before
    assert "pre-deploy" not in project.hook_names()
    for host in HOSTS:
        assert_serves(executor, host, "sample-web-v1")


def test_lock_verbs_acquire_status_and_release(project, executor):
    app = project.load("v2")
    assert not app.lock.status(executor=executor, ui="silent").held
    status = app.lock.acquire("hotfix in progress", executor=executor, ui="silent")
    assert status.held and status.info.message == "hotfix in progress" and status.info.version == "v2"
    assert executor.host(PRIMARY).lock_held(LOCK_DIR)
    with pytest.raises(LockHeld):
        app.lock.acquire("another", executor=executor, ui="silent")
    assert not app.lock.release(executor=executor, ui="silent").held
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)
    assert set(executor.hosts) == {PRIMARY}


def test_someone_elses_lock_needs_force_unless_it_is_stale(project, executor):
    app = project.load("v2")
    executor.host(PRIMARY).hold_lock(LOCK_DIR, kamal_lock(timedelta(minutes=5)))
    with pytest.raises(LockHeld) as refused:
        app.lock.release(executor=executor, ui="silent")
    assert "held by someone else and is not stale" in str(refused.value)
    assert executor.host(PRIMARY).lock_held(LOCK_DIR)
    assert not app.lock.release(force=True, executor=executor, ui="silent").held

    executor.host(PRIMARY).hold_lock(LOCK_DIR, kamal_lock(timedelta(days=2)))
    status = app.lock.status(executor=executor, ui="silent")
    assert status.held and status.stale
    assert not app.lock.release(executor=executor, ui="silent").held


# ---- interrupts -------------------------------------------------------------------------------

@pytest.mark.parametrize("phase", ["start", "health", "switch", "drain", "stop"])
def test_an_interrupt_at_each_boot_phase_releases_the_lock_and_leaves_every_host_serving(
        project, deployed, interrupt_at, settle_threads, phase):
    executor = deployed
    events, interrupter = interrupt_at(phase, HOSTS[0])

    with pytest.raises(KeyboardInterrupt):
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent", events=events)

    assert settle_threads() == []
    assert interrupter.fired.is_set() and interrupter.where == (HOSTS[0], "web")
    assert_lock_free(executor)
    # Every host's worker had stopped when the lock was released: the release came last.
    assert executor.calls[-1].host == PRIMARY and executor.calls[-1].text.endswith(f"rm -r {LOCK_DIR}")
    first = executor.host(HOSTS[0])
    if phase in ("start", "health"):
        # Before the switch: the old container keeps serving, the new one is stopped (or never ran).
        assert_serves(executor, HOSTS[0], "sample-web-v1")
        assert first.upstreams(WEB_ROUTE) == ["sample-web-v1:3000"]
        assert first.state_of("sample-web-v2") != "running"
        if phase == "start":
            assert not executor.ran(RUN_V2_WEB, HOSTS[0])
        else:
            assert executor.ran(r"name=\^sample-web-v2\$.*\| xargs docker stop", HOSTS[0])
    else:
        # After the switch: the host finishes, old container stopped, route settled on the new one.
        assert_serves(executor, HOSTS[0], "sample-web-v2")
        assert first.upstreams(WEB_ROUTE) == ["sample-web-v2:3000"]
        assert first.state_of("sample-web-v1") == "exited"
    for host in HOSTS[1:]:
        assert not executor.ran(r"^docker run ", host)
        assert_serves(executor, host, "sample-web-v1")
    assert executor.host(PRIMARY).state_of("sample-worker-v1") == "running"
    assert "post-app-boot" not in project.hook_names() and "post-deploy" not in project.hook_names()


def test_an_interrupt_while_a_wave_is_starting_its_workers_still_cancels_them(
        project, deployed, interrupt_at, settle_threads):
    executor = deployed
    # No delay: the interrupt arrives as the first wave's worker begins, while the main
    # thread is still inside `pool.submit`.
    events, interrupter = interrupt_at("boot", HOSTS[0], delay=0)

    with pytest.raises(KeyboardInterrupt):
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent", events=events)

    assert settle_threads() == []
    assert interrupter.fired.is_set()
    assert executor.calls[-1].host == PRIMARY and executor.calls[-1].text.endswith(f"rm -r {LOCK_DIR}")
    assert_serves(executor, HOSTS[0], "sample-web-v1")
    assert executor.host(HOSTS[0]).state_of("sample-web-v2") != "running"
