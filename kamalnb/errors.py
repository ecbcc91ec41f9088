"""One small hierarchy of errors, each with a message a user can act on.

    KamalnbError
    ├── ConfigError            deploy.yml, destinations, secrets, arguments
    ├── SandboxError           the local lab fleet cannot be set up or found
    ├── HostError              something went wrong on one host (carries .host)
    │   ├── HostUnreachable
    │   ├── AuthenticationFailed
    │   ├── HostKeyUnknown
    │   ├── HostKeyChanged
    │   ├── CommandFailed      exit status and the last lines of stderr
    │   ├── CommandTimedOut
    │   ├── HealthCheckFailed
    │   └── Interrupted        the user interrupted; the host stopped at a safe point
    ├── HostsFailed            one action failed on several hosts; names each with its cause
    ├── LockHeld               the deploy lock is taken by someone else
    ├── HookFailed             a hook exited non-zero
    └── StepFailed             a step failed on some hosts; carries the partial report
"""

from __future__ import annotations

from typing import Any


class KamalnbError(Exception):
    """Base of every error kamalnb raises on purpose."""


class ConfigError(KamalnbError):
    """The configuration, a destination file, a secret or an argument is wrong."""


class SandboxError(KamalnbError):
    """The sandbox fleet cannot be created, found or removed."""


class HostError(KamalnbError):
    """Something failed on one host; `host` names it."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(f"{host}: {message}")
        self.host = host
        self.detail = message


class HostUnreachable(HostError):
    pass


class AuthenticationFailed(HostError):
    pass


class HostKeyUnknown(HostError):
    pass


class HostKeyChanged(HostError):
    pass


class CommandFailed(HostError):
    def __init__(self, host: str, command: str, exit_status: int, stderr: str = "", stdout: str = "") -> None:
        tail = (stderr or stdout).strip().splitlines()[-10:]
        message = f"`{command}` exited with status {exit_status}"
        if tail:
            message += "\n  " + "\n  ".join(tail)
        super().__init__(host, message)
        self.command = command
        self.exit_status = exit_status
        self.stderr = stderr
        self.stdout = stdout


class CommandTimedOut(HostError):
    pass


class HealthCheckFailed(HostError):
    pass


class Interrupted(HostError):
    """The user interrupted the step; this host stopped at a safe point."""


class HostsFailed(KamalnbError):
    """`what` failed on one or more hosts; `errors` holds each host's error, in host order."""

    def __init__(self, what: str, errors: list[HostError]) -> None:
        self.what = what
        self.errors = list(errors)
        causes = "\n".join(f"  {error.host}: {error.detail}" for error in self.errors)
        super().__init__(f"{what} failed on {', '.join(self.hosts)}:\n{causes}")

    @property
    def hosts(self) -> list[str]:
        return list(dict.fromkeys(error.host for error in self.errors))


class LockHeld(KamalnbError):
    pass


class HookFailed(KamalnbError):
    def __init__(self, hook: str, exit_status: int, output: str = "") -> None:
        tail = output.strip().splitlines()[-10:]
        message = f"Hook `{hook}` failed (exit status {exit_status})"
        if tail:
            message += ":\n  " + "\n  ".join(tail)
        super().__init__(message)
        self.hook = hook
        self.exit_status = exit_status


class StepFailed(KamalnbError):
    """A step failed on one or more hosts; `report` keeps every host's result."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


def error_text(error: BaseException) -> str:
    """What a user reads of an error: a host error's detail (its host is shown beside it)."""
    return error.detail if isinstance(error, HostError) else (str(error) or type(error).__name__)
