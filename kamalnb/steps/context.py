"""What one step needs while it runs: configuration, options, executors, events, hooks,
audit, and a cancel flag that worker threads honour when the user interrupts."""

from __future__ import annotations

import getpass
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kamalnb.commands import Auditor, Hook
from kamalnb.config import Configuration
from kamalnb.errors import HookFailed, Interrupted, KamalnbError
from kamalnb.events import LOCAL as LOCAL  # where the steps have always found it
from kamalnb.events import Events
from kamalnb.executors.base import Executor, LocalRunner
from kamalnb.extension import Extension
from kamalnb.fanout import Outcomes, fan_out
from kamalnb.options import Options

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

if TYPE_CHECKING:
    from kamalnb.executors.ssh import SshExecutor

# Hooks that get every secret in their environment, as in Kamal.
HOOKS_WITH_SECRETS = {"pre-connect", "pre-deploy", "post-deploy"}


class StepContext:
    def __init__(
        self,
        config: Configuration,
        options: Options | None = None,
        *,
        command: str,
        subcommand: str | None = None,
        executor: Executor | None = None,
        connections: Callable[[], SshExecutor] | None = None,
        local: LocalRunner | None = None,
        events: Events | None = None,
        plan: bool = False,
    ) -> None:
        from kamalnb.executors.local import LocalExecutor

        self.config = config
        self.options = options or Options()
        self.extension = Extension.from_config(self.config.kamalnb)
        self.events = events or Events()
        self.command = command
        self.subcommand = subcommand
        self._own_executor = executor is None
        self._executor = executor
        # Where the hosts' connections are kept past this step (an App's), if anywhere.
        self._connections = connections
        self._executor_lock = threading.Lock()
        self.plan = plan
        local_env = {"DOCKER_HOST": self.extension.docker_host} if self.extension.docker_host else {}
        self.local: LocalRunner = local or LocalExecutor(events=self.events, cwd=self.config.root, env=local_env)
        self.cancel = threading.Event()
        self.started = time.monotonic()
        # Kamal sets KAMAL_LOCK=true for hooks: a nested call must not wait for its own lock.
        self.lock_held = os.environ.get("KAMAL_LOCK") == "true"
        self._performer: str | None = None
        self._connected = False
        self._after: list[threading.Thread] = []
        self._after_errors: list[KamalnbError] = []

    # ---- executors -----------------------------------------------------------------------

    @property
    def executor(self) -> Executor:
        """The hosts' executor, opened once, on first use, after the `pre-connect` hook; on
        the kept connections `connections` gives, when given (closed with their owner).

        Worker threads of a fan-out may all ask at once: the lock makes sure one executor
        is made (and so closed), never one per thread."""
        with self._executor_lock:
            if not self._connected:
                self.hook("pre-connect")
                self._connected = True
            if self._executor is None and self._connections is not None:
                self._executor = self._connections().sharing(self.events)
            elif self._executor is None:
                from kamalnb.executors.ssh import SshExecutor

                self._executor = SshExecutor.from_config(self.config, events=self.events)
            return self._executor

    def after(self, task: Callable[[], None]) -> None:
        """Run `task` beside the rest of the step and past its end: the step's report does not
        wait for it, `close()` does (and raises what it raised). In a plan it runs at once,
        so the plan lists its commands in order."""
        if self.plan:
            task()
            return

        def guarded() -> None:
            try:
                task()
            except KamalnbError as error:
                self._after_errors.append(error)

        thread = threading.Thread(target=guarded, name="kamalnb-after")
        thread.start()
        self._after.append(thread)

    def close(self) -> None:
        """Wait for the work left running (`after`), then close the executor this context opened."""
        for thread in self._after:
            thread.join()
        self._after.clear()
        if self._own_executor and self._executor is not None:
            self._executor.close()
        if self._after_errors:
            raise self._after_errors.pop(0)

    def __enter__(self) -> StepContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- who and when ----------------------------------------------------------------------

    @property
    def performer(self) -> str:
        if self._performer is None:
            try:
                self._performer = self.config.git.email or getpass.getuser()
            except (KamalnbError, OSError, KeyError):
                self._performer = getpass.getuser()
        return self._performer

    @property
    def lock_holder(self) -> str:
        try:
            return self.config.git.user_name or "Unknown"
        except (KamalnbError, OSError):
            return "Unknown"

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    @property
    def runtime(self) -> int:
        return round(time.monotonic() - self.started)

    # ---- audit -----------------------------------------------------------------------------

    def audit(self, host: str, line: str, **details: object) -> None:
        """Append Kamal's audit line to the host's `.kamal/<service>-audit.log`."""
        auditor = Auditor(self.config, recorded_at=self.now(), performer=self.performer)
        self.executor.run(host, auditor.record(line, **details))

    # ---- hooks -----------------------------------------------------------------------------

    def hook(self, name: str, **details: object) -> None:
        """Run `.kamal/hooks/<name>` locally if it exists, with Kamal's KAMAL_* environment."""
        if self.options.skip_hooks:
            return
        hook = Hook(self.config)
        path = Path(self.config.root) / hook.hook_file(name)
        if not path.exists():
            return
        if not os.access(path, os.X_OK):
            raise HookFailed(name, 126, f"{path} is not executable: chmod +x {path}")
        hosts = details.pop("hosts", None) or self.config.specifics.hosts
        roles = [role.name for role in self.config.specifics.specific_roles or []]
        env = hook.env(
            recorded_at=self.now(), performer=self.performer,
            secrets=self.config.secrets.to_dict() if name in HOOKS_WITH_SECRETS else None,
            hosts=hosts, roles=roles or None, lock=self.lock_held, command=self.command,
            subcommand=self.subcommand, **details,
        )
        from kamalnb.sensitive import reveal

        if self.plan:
            self.local.run(LOCAL, hook.run(name), check=False)
            return
        result = self.local.run(LOCAL, hook.run(name), check=False,
                                env={key: reveal(value) for key, value in env.items()})
        if not result.ok:
            raise HookFailed(name, result.exit_status, result.stderr or result.stdout)

    def sleep(self, seconds: float) -> None:
        """Wait, except in plan mode, where nothing happens that could be waited for."""
        if not self.plan and seconds > 0:
            time.sleep(seconds)

    # ---- parallel work that stops safely on interrupt ---------------------------------------

    def parallel(self, items: Iterable[K], task: Callable[[K], T]) -> Outcomes[K, T]:
        """`task(item)` for every item, through the one fan-out (`kamalnb.fanout`), honouring
        this step's cancel flag. The caller handles the outcomes' errors."""
        # A plan waits on no host: this thread goes through them in order, without the cost
        # of threads taking turns at the interpreter lock.
        return fan_out(items, task, cancel=self.cancel, limit=1 if self.plan else None)

    def check_cancelled(self, host: str) -> None:
        if self.cancel.is_set():
            raise Interrupted(host, "interrupted; stopped before changing what this host serves")

    def phase(self, host: str, name: str, role: str | None = None) -> AbstractContextManager[None]:
        """Events for one phase of a host's work (pull, start, health, switch, drain, stop)."""
        return self.events.phase(host, name, role)
