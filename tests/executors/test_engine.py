"""Reads asked of each host's Docker engine over the kept SSH connection, on real hosts."""

from __future__ import annotations

import json

import pytest

from kamalnb.commands.base import Command
from kamalnb.commands.engine import EngineRequest, containers
from kamalnb.errors import HostError
from kamalnb.events import CommandRan, Events
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.sandbox import faults

pytestmark = pytest.mark.sandbox

EVERY_CONTAINER = EngineRequest((containers([], all_states=True),), Command.from_argv(["docker", "ps", "-aq"]))


def dial_stdio_processes(executor: SshExecutor, host: str) -> int:
    """`docker system dial-stdio` processes running on the host (the `[d]` keeps pgrep's own shell out)."""
    found = executor.run(host, Command(("pgrep -fc 'docker system [d]ial-stdio' || true",))).stdout
    return int(found.strip() or 0)


@pytest.fixture
def ssh(sandbox):
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)), events=Events())
    yield executor
    executor.close()


def test_the_engine_answers_what_the_docker_command_line_prints(ssh, sandbox) -> None:
    host = sandbox.hosts[0].address
    [answer] = ssh.engine(host, EVERY_CONTAINER)
    printed = ssh.run(host, Command.from_argv(["docker", "ps", "-aq", "--no-trunc"])).stdout.split()
    assert answer.status == 200
    assert sorted(container["Id"] for container in json.loads(answer.body)) == sorted(printed)


def test_reads_share_one_kept_channel_and_close_with_the_executor(ssh, sandbox) -> None:
    host = sandbox.hosts[0].address
    seen: list[CommandRan] = []
    ssh.events.subscribe(lambda event: seen.append(event) if isinstance(event, CommandRan) else None)
    with SshExecutor(ssh.settings) as other:
        before = dial_stdio_processes(other, host)  # other tests' executors may hold some
        for _ in range(5):
            ssh.engine(host, EVERY_CONTAINER)
        assert dial_stdio_processes(other, host) == before + 1
        assert [event.exit_status for event in seen if event.command == str(EVERY_CONTAINER)] == [0] * 5
        ssh.close()
        assert dial_stdio_processes(other, host) == before


def test_a_kept_channel_that_ended_is_replaced_by_a_new_one(ssh, sandbox) -> None:
    host = sandbox.hosts[0].address
    ssh.engine(host, EVERY_CONTAINER)
    ssh.run(host, Command(("pkill -f 'docker system [d]ial-stdio'",)))
    [answer] = ssh.engine(host, EVERY_CONTAINER)
    assert answer.status == 200


def test_an_engine_that_is_down_is_named_with_what_to_check(ssh, sandbox) -> None:
    down = sandbox.hosts[1]
    with faults.docker_stopped(sandbox, down.name), pytest.raises(HostError) as failed:
        ssh.engine(down.address, EVERY_CONTAINER)
    message = str(failed.value)
    assert down.address in message and "docker system dial-stdio" in message and "docker info" in message
    assert "docker.sock" in message  # what dial-stdio said
