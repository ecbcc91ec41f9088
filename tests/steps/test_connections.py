"""SSH connections on real hosts: a step opens one per host, once, and closes them all."""

from __future__ import annotations

import subprocess
import time

import pytest

from kamalnb.executors.ssh import SshExecutor

pytestmark = pytest.mark.sandbox

DEPLOYS = 10


def ssh_sessions(sandbox) -> dict[str, int]:
    """Established connections to each host's sshd, counted in the host's own network."""
    counts = {}
    for host in sandbox.hosts:
        lines = subprocess.run(["ip", "netns", "exec", host.netns, "ss", "-Htn", "state", "established",
                                "( sport = :22 )"], capture_output=True, text=True, check=True).stdout
        counts[host.address] = len(lines.splitlines())
    return counts


def no_more_sessions_than(sandbox, before: dict[str, int]) -> bool:
    """Whether every host is back to at most its earlier count: a closed connection takes
    sshd a moment to end, and one closed just before counting may still show in `before`."""
    for _ in range(50):
        counts = ssh_sessions(sandbox)
        if all(counts[host] <= before[host] for host in before):
            return True
        time.sleep(0.2)
    return False


def test_ten_deploys_from_one_process_open_one_connection_per_host_each_and_leave_none(sample, monkeypatch):
    made: list[SshExecutor] = []
    from_config = SshExecutor.from_config.__func__  # type: ignore[attr-defined]

    def recorded(cls, *args, **kwargs):
        executor = from_config(cls, *args, **kwargs)
        made.append(executor)
        return executor

    monkeypatch.setattr(SshExecutor, "from_config", classmethod(recorded))
    hosts = [host.address for host in sample.sandbox.hosts]
    before = ssh_sessions(sample.sandbox)
    app = sample.load()

    for index in range(DEPLOYS):
        assert app.deploy(skip_push=index > 0, ui="silent").ok

    # One executor per deploy, each with one handshake per host, however many threads asked.
    assert len(made) == DEPLOYS
    assert [executor.connections_opened for executor in made] == [len(hosts)] * DEPLOYS
    assert no_more_sessions_than(sample.sandbox, before), ssh_sessions(sample.sandbox)
