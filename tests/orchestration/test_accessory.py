"""Accessory failure paths on scripted hosts: a lost host, a taken port and an image that
cannot be pulled each name the accessory and the host, leave the others done, leave
nothing half-started and release the lock. (The verbs themselves run on the sandbox's
real hosts in tests/steps/test_accessory.py.)"""

from __future__ import annotations

import re

import pytest

from kamalnb.errors import HostUnreachable, StepFailed
from tests.orchestration.conftest import HOSTS, LOCK_DIR, PRIMARY, Project
from tests.orchestration.scripted import ScriptedExecutor

DB = {"image": "registry.test:5000/db:1", "roles": ["web"], "port": "5432"}


@pytest.fixture
def with_db(project: Project) -> Project:
    project.write_config(accessories={"db": DB})
    return project


def ran(executor: ScriptedExecutor, host: str, pattern: str) -> list[str]:
    return [command for command in executor.commands(host) if re.search(pattern, command)]


def test_a_lost_host_fails_alone_and_is_named(with_db: Project, executor: ScriptedExecutor) -> None:
    lost = HOSTS[1]
    executor.on(re.compile(r"^docker ps -a -q --filter label=service=sample-db"), hosts=[lost],
                raises=HostUnreachable(lost, "No route to host"))
    with pytest.raises(StepFailed) as failed:
        with_db.load().accessory("db").boot(executor=executor, ui="silent")
    report = failed.value.report
    assert [o.host for o in report.failed] == [lost] and "No route to host" in str(failed.value)
    for host in (HOSTS[0], HOSTS[2]):
        assert ran(executor, host, r"^docker run --name sample-db ")
    assert not ran(executor, lost, r"^docker run ")
    assert ran(executor, PRIMARY, rf"rm -r {LOCK_DIR}")


def test_a_taken_port_removes_the_container_docker_created(with_db: Project, executor: ScriptedExecutor) -> None:
    clash = HOSTS[2]
    executor.on(re.compile(r"^docker run --name sample-db "), hosts=[clash], exit_status=125,
                stderr="docker: Error response from daemon: driver failed programming external connectivity on "
                       "endpoint sample-db: Bind for 0.0.0.0:5432 failed: port is already allocated.")
    with pytest.raises(StepFailed) as failed:
        with_db.load().accessory("db").boot(executor=executor, ui="silent")
    message = str(failed.value)
    assert f"{clash}: accessory db: port 5432:5432 is already taken on {clash}" in message
    assert "nothing was left running" in message
    assert ran(executor, clash, r"^docker container prune --force --filter label=service=sample-db")
    assert not ran(executor, HOSTS[0], r"^docker container prune")


def test_an_image_that_cannot_be_pulled_changes_nothing_on_reboot(with_db: Project, executor: ScriptedExecutor
                                                                   ) -> None:
    executor.on(re.compile(r"^docker image pull "), exit_status=1,
                stderr="Error response from daemon: manifest for registry.test:5000/db:1 not found: manifest unknown")
    with pytest.raises(StepFailed) as failed:
        with_db.load().accessories.reboot(executor=executor, ui="silent")
    assert "accessory db: the image registry.test:5000/db:1 cannot be pulled" in str(failed.value)
    for host in HOSTS:
        assert not ran(executor, host, r"^docker container stop |^docker container prune|^docker run ")
    assert ran(executor, PRIMARY, rf"rm -r {LOCK_DIR}")
