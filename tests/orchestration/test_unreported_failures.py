"""Hosts that fail where the orchestration does not look: each test states the behaviour
a user needs (the failing host named in the raised error, nothing left running that the
deploy gave up on). Strict xfails mark what kamalnb does not do yet."""

from __future__ import annotations

import re

import pytest

from kamalnb.errors import HostUnreachable, KamalnbError

from tests.orchestration.conftest import HOSTS, LOCK_DIR, PRIMARY

UNREACHABLE = HOSTS[2]


def no_route(host: str, text: str) -> HostUnreachable:
    return HostUnreachable(host, f"ssh: connect to host {host} port 22: No route to host")


@pytest.mark.xfail(strict=True, reason=(
    "steps/deploy.py bootstrap() ignores what context.parallel() returns: a host whose `docker -v` raises "
    "(HostUnreachable) is neither in `missing` nor reported, so setup carries on as if Docker were there"))
def test_setup_names_a_host_unreachable_at_the_docker_check(project, executor):
    executor.on(re.compile(r"^docker -v$"), hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v1").setup(skip_push=True, executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value)


def test_setup_names_a_host_without_docker(project, executor):
    executor.on(re.compile(r"^docker -v$"), hosts=[UNREACHABLE], exit_status=127, stderr="sh: docker: not found\n")
    with pytest.raises(KamalnbError) as failed:
        project.load("v1").setup(skip_push=True, executor=executor, ui="silent")
    assert f"Docker is not installed on {UNREACHABLE}" in str(failed.value)
    assert not executor.ran(r"^docker (pull|run) ")
    assert not executor.host(PRIMARY).lock_held(LOCK_DIR)


@pytest.mark.xfail(strict=True, reason=(
    "steps/deploy.py stop_stale_containers() ignores what context.parallel() returns: a host unreachable "
    "while its stale containers are listed is not reported and the deploy succeeds"))
def test_a_deploy_names_a_host_unreachable_at_the_stale_container_stop(project, deployed):
    executor = deployed
    # `list_versions`: the running versions of a role, the first command of the stale stop.
    executor.on(re.compile(r'^docker ps --filter label=service=sample .*--format "\{\{\.Names\}\}"'),
                hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value)


@pytest.mark.xfail(strict=True, reason=(
    "steps/deploy.py prune() ignores what context.parallel() returns: a host unreachable while pruning is "
    "not reported and the deploy succeeds"))
def test_a_deploy_names_a_host_unreachable_at_prune(project, deployed):
    executor = deployed
    executor.on(re.compile(r"^docker image prune "), hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value)


@pytest.mark.xfail(strict=True, reason=(
    "steps/boot.py runs `docker run` in the start phase, outside the try block that stops the new container "
    "on failure (Kamal's App::Boot stops the new version on any error from starting it on): when the "
    "connection drops after the container started, the failed host is left running the new version "
    "next to the old one"))
def test_a_connection_lost_after_docker_run_leaves_no_new_container_running(project, deployed):
    executor = deployed
    executor.on(re.compile(r"^docker run .*--name sample-web-v2 "), hosts=[HOSTS[1]], raises=no_route,
                simulate_first=True, times=1)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    assert HOSTS[1] in str(failed.value)
    assert executor.host(HOSTS[1]).state_of("sample-web-v2") != "running"


@pytest.mark.xfail(strict=True, reason=(
    "steps/deploy.py rollback() counts a host whose `container_id_for_version` check raised (unreachable) "
    "as missing the version: the ConfigError says the version is not available there and hides that the "
    "host could not be reached"))
def test_a_rollback_with_an_unreachable_host_says_it_is_unreachable(project, deployed):
    executor = deployed
    project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    executor.on(re.compile(r"^docker container ls --all --filter 'name=\^sample-web-v1\$' --quiet$"),
                hosts=[UNREACHABLE], raises=no_route)
    with pytest.raises(KamalnbError) as failed:
        project.load("v2").rollback("v1", executor=executor, ui="silent")
    assert UNREACHABLE in str(failed.value) and "No route to host" in str(failed.value)
    assert not executor.ran(r"^docker run ")
