"""deploy, redeploy and rollback driven against scripted hosts: the order of everything."""

from __future__ import annotations

import re
import threading
from itertools import pairwise

import pytest

from kamalnb.errors import ConfigError, HookFailed
from kamalnb.events import Events, HostStarted
from tests.orchestration.conftest import HOSTS, LOCK_DIR, PRIMARY, WEB_ROUTE, forget

RUN_V2 = r"^docker run .*--name sample-web-v2 "
STOP_V1 = r"name=\^sample-web-v1\$.*\| xargs docker stop"


def global_index(executor, host: str, pattern: str) -> int:
    """Position of the first call on `host` matching `pattern` among every host's calls."""
    regex = re.compile(pattern)
    for position, call in enumerate(executor.calls):
        if call.host == host and regex.search(call.text):
            return position
    raise AssertionError(f"nothing matching {pattern!r} ran on {host}")


def test_a_deploy_boots_every_host_in_waves_with_the_lock_audit_and_hooks_in_kamals_order(project, deployed):
    executor = deployed
    report = project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    assert report.ok
    assert [(o.host, o.role, o.status, o.version_before, o.version_after) for o in report] == [
        *((host, "web", "ok", "v1", "v2") for host in HOSTS), (PRIMARY, "worker", "ok", "v1", "v2")]

    # Waves of boot.limit = 1, the primary role first: each host's new container starts
    # only once the previous host has stopped its old one.
    starts = [global_index(executor, host, RUN_V2) for host in HOSTS]
    starts.append(global_index(executor, PRIMARY, r"^docker run .*--name sample-worker-v2 "))
    assert starts == sorted(starts)
    for earlier, later in pairwise(HOSTS):
        assert global_index(executor, earlier, STOP_V1) < global_index(executor, later, RUN_V2)
    assert global_index(executor, HOSTS[2], STOP_V1) < starts[3]

    # On each web host: start -> health -> switch (the idle slot written, then made live) ->
    # drain -> settle (the idle slot pointed at the live target) -> stop old. No change of
    # Caddy's configuration.
    for host in HOSTS:
        order = [executor.index(pattern, host, kind=None) for pattern in (
            RUN_V2, r"^GET http://172\.18\.\d+\.\d+:3000/up$", f"^GET http://127.0.0.1:2019/id/{WEB_ROUTE}$",
            f"^upload .kamal/proxy/kamalnb/{WEB_ROUTE}.next ", f"mv -f \\.\\./{WEB_ROUTE}\\.next ",
            r"^GET http://127.0.0.1:2019/reverse_proxy/upstreams$", f"mv -f {WEB_ROUTE}\\.\\$idle\\.tmp ", STOP_V1)]
        assert order == sorted(order), executor.commands(host, kind=None)
        assert not [text for text in executor.commands(host, kind="http") if not text.startswith("GET ")], \
            "a switch changes no configuration in the proxy (no reload)"
        state = executor.host(host)
        assert state.upstreams(WEB_ROUTE) == ["sample-web-v2:3000"]
        assert state.state_of("sample-web-v2") == "running" and state.state_of("sample-web-v1") == "exited"
    assert executor.host(PRIMARY).state_of("sample-worker-v2") == "running"
    assert executor.host(PRIMARY).state_of("sample-worker-v1") == "exited"

    # The lock on the primary host only, taken before the first boot and released once every
    # host is tagged; prune comes after, off the lock.
    lock_commands = executor.ran(f"mkdir {LOCK_DIR}|rm -r {LOCK_DIR}")
    assert lock_commands == executor.ran(f"mkdir {LOCK_DIR}|rm -r {LOCK_DIR}", PRIMARY) and len(lock_commands) == 2
    assert global_index(executor, PRIMARY, f"^mkdir {LOCK_DIR} ") < min(starts)
    released = global_index(executor, PRIMARY, f"rm -r {LOCK_DIR}$")
    for host in HOSTS:
        assert global_index(executor, host, r"^docker tag ") < released < global_index(executor, host, "^docker image prune ")
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)

    # Kamal's audit lines, per host.
    for host in HOSTS:
        audit = [line.split("] ", 2)[-1] for line in executor.host(host).audit]
        assert audit == ["Pulled image with version v2", "[web] Booted app version v2",
                         *(["[worker] Booted app version v2"] if host == PRIMARY else []),
                         "Tagging registry.test:5000/sample/app:v2 as the latest image",
                         "Pruned containers", "Pruned images"]

    # Hooks: pre-connect, pre-deploy, pre-/post-app-boot around each wave, post-deploy.
    everyone = ",".join(HOSTS)
    assert project.hooks() == [
        ("pre-connect", everyone), ("pre-deploy", everyone),
        ("pre-app-boot", HOSTS[0]), ("post-app-boot", HOSTS[0]),
        ("pre-app-boot", HOSTS[1]), ("post-app-boot", HOSTS[1]),
        ("pre-app-boot", HOSTS[2]), ("post-app-boot", HOSTS[2]),
        ("pre-app-boot", PRIMARY), ("post-app-boot", PRIMARY),
        ("post-deploy", everyone)]


def test_a_first_deploy_boots_the_proxy_and_adds_the_route(project, executor):
    report = project.load("v1").deploy(skip_push=True, executor=executor, ui="silent")
    assert report.ok and {o.version_before for o in report} == {None}
    for host in HOSTS:
        state = executor.host(host)
        assert state.proxy_running
        assert executor.ran(r"^docker run --name kamalnb-proxy ", host)
        # A route without host names is added at the end of Caddy's routes (a catch-all).
        assert "POST http://127.0.0.1:2019/config/apps/http/servers/kamalnb/routes" in executor.commands(
            host, kind="http")
        assert state.upstreams(WEB_ROUTE) == ["sample-web-v1:3000"]
        # No old container: nothing to drain, nothing to stop.
        assert not executor.ran(r"xargs docker stop", host)
        assert "GET http://127.0.0.1:2019/reverse_proxy/upstreams" not in executor.commands(host, kind="http")


def test_a_redeploy_touches_neither_the_proxy_container_nor_prune(project, deployed):
    executor = deployed
    report = project.load("v3").redeploy(skip_push=True, executor=executor, ui="silent")
    assert report.ok and {o.version_after for o in report} == {"v3"}
    assert not executor.ran(r"kamalnb-proxy|kamal-proxy")
    assert not executor.ran(r"^docker (image prune|ps -q -a)")
    for host in HOSTS:
        assert executor.host(host).upstreams(WEB_ROUTE) == ["sample-web-v3:3000"]
    assert project.hook_names()[:2] == ["pre-connect", "pre-deploy"] and project.hook_names()[-1] == "post-deploy"


def test_a_redeploy_of_the_running_version_stops_the_container_it_renamed_aside(project, deployed):
    executor = deployed
    report = project.load("v1").deploy(skip_push=True, executor=executor, ui="silent")
    assert report.ok
    assert {(o.version_before, o.version_after) for o in report if o.role == "web"} == {("v1", "v1")}
    for host in HOSTS:
        renamed = [c for c in executor.host(host).containers.values() if "_replaced_" in c.name and c.role == "web"]
        assert len(renamed) == 1 and renamed[0].state != "running"
        assert executor.host(host).state_of("sample-web-v1") == "running"


def test_a_rollback_boots_the_earlier_containers_again(project, deployed):
    executor = deployed
    project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    forget(project, executor)

    report = project.load("v2").rollback("v1", executor=executor, ui="silent")

    assert report.ok and report.step == "rollback"
    assert {(o.version_before, o.version_after) for o in report} == {("v2", "v1")}
    for host in HOSTS:
        state = executor.host(host)
        assert state.upstreams(WEB_ROUTE) == ["sample-web-v1:3000"]
        assert state.state_of("sample-web-v1") == "running" and state.state_of("sample-web-v2") == "exited"
        # The stopped v1 container was renamed out of the way, then v1 started afresh.
        assert executor.index(r"^docker rename sample-web-v1 sample-web-v1_replaced_[0-9a-f]+  \[engine API: POST ", host) < \
            executor.index(r"^docker run .*--name sample-web-v1 ", host)
    assert not executor.ran(r"^docker pull ")
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)
    assert project.hook_names()[1] == "pre-deploy" and project.hook_names()[-1] == "post-deploy"


def test_a_rollback_to_a_version_missing_on_one_host_names_it_and_boots_nothing(project, deployed):
    executor = deployed
    project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    # v1's container was pruned on the last host only.
    del executor.host(HOSTS[2]).containers["sample-web-v1"]
    forget(project, executor)

    with pytest.raises(ConfigError) as refused:
        project.load("v2").rollback("v1", executor=executor, ui="silent")

    message = str(refused.value)
    assert "'v1'" in message and f"web on {HOSTS[2]}" in message
    assert f"on {HOSTS[0]}" not in message and f"on {HOSTS[1]}" not in message
    assert not executor.ran(r"^docker (run|rename|stop) |xargs docker stop")
    assert not executor.ran(r"^docker container ls .*\| xargs")
    assert executor.ran(f"rm -r {LOCK_DIR}$", PRIMARY)
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)
    assert "pre-deploy" not in project.hook_names() and "post-deploy" not in project.hook_names()
    for host in HOSTS:
        assert executor.host(host).upstreams(WEB_ROUTE) == ["sample-web-v2:3000"]


def test_a_failing_pre_deploy_hook_boots_nothing_and_releases_the_lock(project, deployed):
    executor = deployed
    hook = project.root / ".kamal" / "hooks" / "pre-deploy"
    hook.write_text('#!/bin/sh\necho "migrations pending" >&2\nexit 3\n')

    with pytest.raises(HookFailed) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    assert failed.value.hook == "pre-deploy" and "migrations pending" in str(failed.value)
    assert not executor.ran(RUN_V2)
    assert executor.ran(f"rm -r {LOCK_DIR}$", PRIMARY)
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)
    assert "post-deploy" not in project.hook_names()


def test_boot_phases_are_reported_as_events_in_order(project, deployed):
    phases: dict[tuple[str, str | None], list[str]] = {}

    def collect(event):
        if isinstance(event, HostStarted):
            phases.setdefault((event.host, event.role), []).append(event.phase)

    project.load("v2").deploy(skip_push=True, executor=deployed, ui="silent", events=Events(collect))
    for host in HOSTS:
        web = [p for p in phases[(host, "web")] if p in ("start", "health", "switch", "drain", "stop")]
        assert web == ["start", "health", "switch", "drain", "stop"]
    worker = [p for p in phases[(PRIMARY, "worker")] if p in ("start", "health", "switch", "drain", "stop")]
    assert worker == ["start", "health", "stop"]


@pytest.mark.parametrize("limit", [None, 1])
def test_each_host_goes_on_to_its_boot_without_waiting_for_the_others_cleanup(project, deployed, limit):
    executor = deployed
    project.write_config(boot={"limit": limit} if limit else {})
    first_started = threading.Event()
    waited: list[bool] = []
    executor.on(re.compile(RUN_V2), hosts=[HOSTS[0]], effect=lambda host, text: first_started.set(),
                simulate_first=True)
    # The last host looks for what to clean up and for stale containers only once the first
    # has started its new container: a fleet-wide wait before any boot would never see it.
    executor.on(re.compile(r'^docker ps --filter label=service=sample .*--format "\{\{\.Names\}\}"'),
                hosts=[HOSTS[2]], effect=lambda host, text: waited.append(first_started.wait(5)), simulate_first=True)

    report = project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")

    assert report.ok and waited and all(waited)
    for host in HOSTS:
        assert executor.host(host).state_of("sample-web-v2") == "running"
        assert executor.host(host).state_of("sample-web-v1") == "exited"
