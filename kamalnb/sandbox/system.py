"""Thin wrappers over the Linux tools the sandbox drives (ip, mount, nsenter, kill)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from kamalnb.errors import SandboxError

# What the sandbox needs, and the Debian package that brings it.
REQUIRED_TOOLS = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "docker-registry": "docker-registry",
    "busybox": "busybox-static",
    "iptables": "iptables",
    "git": "git",
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
}
TOOL_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin")


def which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path=os.pathsep.join(TOOL_DIRS))


def check_prerequisites() -> None:
    """One clear line for what is missing, rather than a failure half-way through `up`."""
    if os.geteuid() != 0:
        raise SandboxError("the sandbox needs root (network namespaces, mounts, dockerd): run it as root")
    if not Path("/proc/self/ns/net").exists():
        raise SandboxError("this kernel has no network namespaces; the sandbox cannot run here")
    missing = sorted({package for tool, package in REQUIRED_TOOLS.items() if which(tool) is None})
    if missing:
        raise SandboxError(
            f"missing packages: {' '.join(missing)}; install them with "
            f"`apt-get install -y {' '.join(missing)}` or run `scripts/install-deps`"
        )


def run(argv: Sequence[str], *, check: bool = True, input: str | None = None,
        env: dict[str, str] | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [which(argv[0]) or argv[0], *argv[1:]]
    result = subprocess.run(argv, capture_output=True, text=True, input=input, cwd=cwd,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise SandboxError(f"`{' '.join(argv)}` failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


def ok(argv: Sequence[str]) -> bool:
    return run(argv, check=False).returncode == 0


def start_daemon(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start a long-running process detached from us; its pid."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [which(argv[0]) or argv[0], *argv[1:]], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, env={**os.environ, **(env or {})},
        )
    return process.pid


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    try:
        return state.read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def terminate(pids: Sequence[int], timeout: float = 15.0) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL whatever is left."""
    pids = [pid for pid in pids if pid_alive(pid)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SandboxError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        points.append(line.split()[4].replace("\\040", " "))
    return points


def unmount_below(root: Path) -> None:
    """Unmount everything at or below `root`, deepest first."""
    prefix = str(root)
    for point in sorted((p for p in mount_points() if p == prefix or p.startswith(prefix + "/")),
                        key=len, reverse=True):
        run(["umount", "-l", point], check=False)


def pids_in_cgroup(name: str) -> list[int]:
    """Every process under cgroup `name` (in the pids hierarchy, v1 or v2)."""
    pids: list[int] = []
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        root = base / name
        if root.is_dir():
            for procs in root.rglob("cgroup.procs"):
                try:
                    pids += [int(p) for p in procs.read_text().split()]
                except OSError:
                    pass
    return pids


def remove_cgroups(name: str) -> None:
    for controller in Path("/sys/fs/cgroup").iterdir():
        root = controller / name
        if root.is_dir():
            for directory in [*sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True), root]:
                if directory.is_dir():
                    try:
                        directory.rmdir()
                    except OSError:
                        pass
