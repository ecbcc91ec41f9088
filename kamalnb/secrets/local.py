"""Local commands: `$(...)` in secrets files, vault CLIs and git, run on this machine."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Completed:
    stdout: str
    ok: bool


def shell(command: str, env: Mapping[str, str] | None = None, cwd: str | None = None) -> Completed:
    """Run `command` with /bin/sh like Ruby's backticks: stdout captured, stderr shown."""
    result = subprocess.run(
        command, shell=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else None, cwd=cwd,
    )
    return Completed(result.stdout.decode("utf-8", "replace"), result.returncode == 0)


def run(argv: Sequence[str], cwd: str | None = None) -> Completed:
    """Run a program without a shell; stderr is discarded."""
    try:
        result = subprocess.run(
            list(argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=cwd,
        )
    except OSError:
        return Completed("", False)
    return Completed(result.stdout.decode("utf-8", "replace"), result.returncode == 0)


def chomp(text: str) -> str:
    """Ruby's `chomp`: drop one trailing line ending."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text
