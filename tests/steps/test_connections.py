"""SSH connections on real hosts: an app opens one per host, once, for all its steps, and
closes them all with itself."""

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


def test_ten_deploys_from_one_app_share_one_connection_per_host_and_leave_none_once_it_closes(sample, monkeypatch):
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
    app.containers()

    # The app's executor, made once, with one handshake per host, however many steps and threads asked.
    assert len(made) == 1
    assert made[0].connections_opened == len(hosts)
    during = ssh_sessions(sample.sandbox)
    assert all(during[host] <= before[host] + 1 for host in hosts), (before, during)
    app.close()
    assert no_more_sessions_than(sample.sandbox, before), ssh_sessions(sample.sandbox)
