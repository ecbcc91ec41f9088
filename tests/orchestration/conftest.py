"""A project on disk (deploy.yml, secrets, real hook scripts) deployed to three scripted hosts.

Nothing here connects anywhere or builds anything: every deploy uses `skip_push=True` and
a `ScriptedExecutor`. The hooks are real executables that append their name and
$KAMAL_HOSTS to `hooks.log`, so their order is what the local hook runner really did.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import kamalnb
from kamalnb.events import Event, Events, HostStarted
from tests.orchestration.scripted import ScriptedExecutor

HOSTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
PRIMARY = HOSTS[0]
LOCK_DIR = ".kamal/lock-sample"
WEB_ROUTE = "sample-web"
HOOKS = ("pre-connect", "pre-build", "pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy", "docker-setup",
         "pre-proxy-reboot", "post-proxy-reboot")

CONFIG: dict[str, Any] = {
    "service": "sample",
    "image": "sample/app",
    "servers": {
        "web": {"hosts": list(HOSTS)},
        "worker": {"hosts": [PRIMARY], "cmd": "/app/worker.sh", "proxy": False},
    },
    "registry": {"server": "registry.test:5000", "username": "deployer", "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
    "proxy": {"app_port": 3000, "healthcheck": {"path": "/up"}},
    "boot": {"limit": 1},
    # No waiting anywhere: the scripted hosts answer at once.
    "deploy_timeout": 1,
    "drain_timeout": 1,
    "readiness_delay": 0,
}


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.hooks_log = root / "hooks.log"

    def write_config(self, **changes: Any) -> None:
        config = {**CONFIG, **changes}
        (self.root / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    def load(self, version: str = "v2", **options: Any) -> kamalnb.App:
        return kamalnb.load(self.root / "config" / "deploy.yml", root=self.root, version=version,
                            environ={}, **options)

    def hooks(self) -> list[tuple[str, str]]:
        """(hook, KAMAL_HOSTS) of every hook run so far, in order."""
        if not self.hooks_log.exists():
            return []
        return [tuple(line.split(" ", 1)) if " " in line else (line, "")
                for line in self.hooks_log.read_text().splitlines()]

    def hook_names(self) -> list[str]:
        return [name for name, _ in self.hooks()]

    def clear_hooks(self) -> None:
        self.hooks_log.unlink(missing_ok=True)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal" / "hooks").mkdir(parents=True)
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=s3cret\n")
    project = Project(tmp_path)
    project.write_config()
    for name in HOOKS:
        hook = tmp_path / ".kamal" / "hooks" / name
        hook.write_text(f'#!/bin/sh\necho "{name} $KAMAL_HOSTS" >> "{project.hooks_log}"\n')
        hook.chmod(0o755)
    return project


@pytest.fixture(autouse=True)
def image_in_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry is no scripted host: every image asked for is there."""
    from kamalnb.executors import registry

    monkeypatch.setattr(registry, "manifest_exists", lambda *args, **kwargs: True)


@pytest.fixture
def executor() -> ScriptedExecutor:
    return ScriptedExecutor()


@pytest.fixture
def deployed(project: Project, executor: ScriptedExecutor) -> ScriptedExecutor:
    """v1 deployed everywhere (on the scripted hosts), the record of it cleared."""
    project.load("v1").deploy(skip_push=True, executor=executor, ui="silent")
    forget(project, executor)
    return executor


def forget(project: Project, executor: ScriptedExecutor) -> None:
    """Clear what ran so far, the hosts' audit logs and the hooks' log (the hosts' state stays)."""
    executor.calls.clear()
    for host in HOSTS:
        executor.host(host).audit.clear()
    project.clear_hooks()


class Interrupter:
    """An events listener that, when a host starts `phase`, sends SIGINT to the main thread
    (a real KeyboardInterrupt, as Ctrl-C or a kernel interrupt gives) and holds that host's
    worker until the main thread has taken the interrupt."""

    def __init__(self, phase: str, host: str | None = None, delay: float = 0.02) -> None:
        self.phase = phase
        self.host = host
        self.delay = delay
        self.fired = threading.Event()
        self.taken = threading.Event()
        self.where: tuple[str, str | None] | None = None

    def __call__(self, event: Event) -> None:
        if (isinstance(event, HostStarted) and event.phase == self.phase and not self.fired.is_set()
                and (self.host is None or event.host == self.host)
                and threading.current_thread() is not threading.main_thread()):
            self.fired.set()
            self.where = (event.host, event.role)
            # A person's Ctrl-C: a moment after the phase began, not within the same microsecond
            # (with no delay this worker keeps the GIL until the main thread takes the signal).
            if self.delay:
                time.sleep(self.delay)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            assert self.taken.wait(5), "the main thread never took the interrupt"
            time.sleep(0.02)  # the main thread sets the cancel flag right after taking it

    def handler(self, signum: int, frame: Any) -> None:
        self.taken.set()
        raise KeyboardInterrupt


@pytest.fixture
def interrupt_at() -> Iterator[Callable[..., tuple[Events, Interrupter]]]:
    """`events, interrupter = interrupt_at("health")`: pass `events=` to a verb."""
    previous = signal.getsignal(signal.SIGINT)

    def make(phase: str, host: str | None = None, delay: float = 0.02) -> tuple[Events, Interrupter]:
        interrupter = Interrupter(phase, host, delay)
        signal.signal(signal.SIGINT, interrupter.handler)
        return Events(interrupter), interrupter

    yield make
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def settle_threads() -> Callable[[], list[str]]:
    """`settle_threads()` waits for every thread started since the test began to end, and
    names those still running after 2 s: after an interrupt, what the hosts were left with
    is only known once every worker is done."""
    before = set(threading.enumerate())

    def wait() -> list[str]:
        deadline = time.monotonic() + 2
        for thread in set(threading.enumerate()) - before:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in set(threading.enumerate()) - before if t.is_alive()]

    return wait
