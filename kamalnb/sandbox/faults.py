"""Faults on one sandbox host, each a context manager that puts the host back as it was.

    with faults.docker_stopped(sandbox, "h2"):
        ...  # h2's Docker engine is down; on leaving, it runs again and answers

    with faults.disk_full(sandbox, "h1"):
        ...  # ~/.kamal on h1 is a full file system; on leaving, the real one is back

A fault is made the way it happens on a real server (the daemon stopped, the link down, a
full file system in the host's own mount namespace), never by changing what kamalnb sees.
"""

from __future__ import annotations

import os
import shlex
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from kamalnb.sandbox.system import ok, pid_alive, read_pid, run, start_daemon, terminate, wait_for

if TYPE_CHECKING:
    from kamalnb.sandbox.fleet import Sandbox


@contextmanager
def docker_stopped(sandbox: Sandbox, host: str) -> Iterator[None]:
    """The host's dockerd stopped (its containers with it); started again afterwards, and
    waited for until it answers. Containers with a restart policy come back with it."""
    target = sandbox.host(host)
    pidfile = target.path / "dockerd.pid"
    terminate([pid for pid in [read_pid(pidfile)] if pid], timeout=30)
    pidfile.unlink(missing_ok=True)
    try:
        yield
    finally:
        if not pid_alive(read_pid(pidfile)):
            start_daemon([*target.enter, *sandbox._dockerd_argv(target.path, target.cgroup)],
                         target.path / "dockerd.log")
        wait_for(lambda: ok(["docker", "-H", target.docker_host, "version"]), 60,
                 f"the Docker engine of {target.name} ({target.path / 'dockerd.log'})")


@contextmanager
def sshd_stopped(sandbox: Sandbox, host: str) -> Iterator[None]:
    """The host's sshd stopped (connections refused); started again afterwards."""
    sandbox.stop_sshd(host)
    try:
        yield
    finally:
        sandbox.start_sshd(host)


@contextmanager
def registry_stopped(sandbox: Sandbox) -> Iterator[None]:
    """The sandbox's registry stopped (connections refused); started again afterwards."""
    sandbox.stop_registry()
    try:
        yield
    finally:
        sandbox.start_registry()


@contextmanager
def sshd_killed(sandbox: Sandbox, host: str) -> Iterator[None]:
    """Every sshd of the host killed, the listener and each session's, as when a server's
    SSH dies: its connections drop at once. Started again afterwards."""
    netns = sandbox.host(host).netns
    for pid in run(["ip", "netns", "pids", netns]).stdout.split():
        with suppress(FileNotFoundError, ProcessLookupError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "sshd":
                os.kill(int(pid), signal.SIGKILL)
    try:
        yield
    finally:
        sandbox.start_sshd(host)


@contextmanager
def link_down(sandbox: Sandbox, host: str) -> Iterator[None]:
    """The host's network link down (connections time out); up again afterwards."""
    veth = sandbox.host(host).veth
    run(["ip", "link", "set", veth, "down"])
    try:
        yield
    finally:
        run(["ip", "link", "set", veth, "up"])


@contextmanager
def disk_full(sandbox: Sandbox, host: str, directory: str = ".kamal", size_kb: int = 1024) -> Iterator[None]:
    """`~/<directory>` on the host is a small file system (a tmpfs in the host's own mount
    namespace, holding a copy of what was there) filled up to the last byte. Afterwards it
    is unmounted: the real directory, unchanged by anything written meanwhile, is back."""
    target = sandbox.host(host)
    inside = f"/root/{directory}"
    underlying = target.home / directory
    underlying.mkdir(parents=True, exist_ok=True)
    enter = ["nsenter", f"--mount={target.mount_ns}"]
    run([*enter, "mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "kamalnb-full", inside])
    try:
        # What does not fit is left out: the file system ends up full either way.
        run([*enter, "sh", "-c", f"cp -a {shlex.quote(str(underlying))}/. {shlex.quote(inside)}/;"
                                 f" dd if=/dev/zero of={shlex.quote(inside)}/.filler bs=4k 2>/dev/null"], check=False)
        yield
    finally:
        run([*enter, "umount", "-l", inside])
