"""Hosts that fail where it is easy not to look: each test states the behaviour a user
needs (the failing host named in the raised error, nothing left running that the deploy
gave up on)."""

from __future__ import annotations

import re

import pytest

from kamalnb.errors import HostUnreachable, KamalnbError
from tests.orchestration.conftest import HOSTS, LOCK_DIR, PRIMARY

UNREACHABLE = HOSTS[2]


def no_route(host: str, text: str) -> HostUnreachable:
    return HostUnreachable(host, f"ssh: connect to host {host} port 22: No route to host")


def test_setup_names_a_host_unreachable_at_the_docker_check(project, executor):
    executor.on(re.compile(r"^docker -v$"), hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v1").setup(skip_push=True, executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value)


def test_setup_names_a_host_without_docker_that_cannot_install_it(project, executor):
    executor.on(re.compile(r"^docker -v$"), hosts=[UNREACHABLE], exit_status=127, stderr="sh: docker: not found\n")
    executor.on(re.compile(r"EUID"), hosts=[UNREACHABLE], exit_status=1)
    with pytest.raises(KamalnbError) as failed:
        project.load("v1").setup(skip_push=True, executor=executor, ui="silent")
    assert f"Docker is not installed on {UNREACHABLE}" in str(failed.value)
    assert not executor.ran(r"^docker (pull|run) ")
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)


def test_setup_installs_docker_where_it_is_missing_as_kamal_does(project, executor):
    executor.on(re.compile(r"^docker -v$"), hosts=[UNREACHABLE], exit_status=127, stderr="sh: docker: not found\n")
    assert project.load("v1").setup(skip_push=True, executor=executor, ui="silent").ok
    assert executor.ran(r"get\.docker\.com", host=UNREACHABLE)
    assert executor.ran(r"^docker run ", host=UNREACHABLE)


def test_a_deploy_names_a_host_unreachable_at_the_stale_container_stop(project, deployed):
    executor = deployed
    # `list_versions`: the running versions of a role, the first command of the stale stop.
    executor.on(re.compile(r'^docker ps --filter label=service=sample .*--format "\{\{\.Names\}\}"'),
                hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value)


def test_a_deploy_names_a_host_unreachable_at_prune(project, deployed):
    executor = deployed
    executor.on(re.compile(r"^docker image prune "), hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value)


def test_a_connection_lost_after_docker_run_leaves_no_new_container_running(project, deployed):
    executor = deployed
    executor.on(re.compile(r"^docker run .*--name sample-web-v2 "), hosts=[HOSTS[1]], raises=no_route,
                simulate_first=True, times=1)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert HOSTS[1] in str(failed.value)
    assert executor.host(HOSTS[1]).state_of("sample-web-v2") != "running"


def test_a_rollback_with_an_unreachable_host_says_it_is_unreachable(project, deployed):
    executor = deployed
    project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    started_before = executor.ran(r"^docker run ")
    executor.on(re.compile(r"^docker container ls --all --filter 'name=\^sample-web-v1\$' --quiet "),
                hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").rollback("v1", executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value) and "No route to host" in str(failed.value)
    assert executor.ran(r"^docker run ") == started_before
