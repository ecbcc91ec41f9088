"""Executors run `Command`s: over SSH, on this machine, or not at all (plan mode).

`SshExecutor` and `LocalExecutor` are imported on first use, so that reading the settings
(`SshSettings`) never loads paramiko or subprocess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kamalnb.executors.base import Executor, HttpResponse
from kamalnb.executors.plan import Answer, EngineAnswer, PlanExecutor, Planned
from kamalnb.executors.settings import SshSettings

if TYPE_CHECKING:
    from kamalnb.executors.local import LocalExecutor
    from kamalnb.executors.ssh import SshExecutor

__all__ = [
    "Answer",
    "EngineAnswer",
    "Executor",
    "HttpResponse",
    "LocalExecutor",
    "PlanExecutor",
    "Planned",
    "SshExecutor",
    "SshSettings",
]


def __getattr__(name: str) -> Any:
    if name == "SshExecutor":
        from kamalnb.executors.ssh import SshExecutor

        return SshExecutor
    if name == "LocalExecutor":
        from kamalnb.executors.local import LocalExecutor

        return LocalExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
