"""The deploy lock: a directory on the primary host, created atomically with `mkdir`.

Kamal tells "held" from "free" by the error text of these commands: `mkdir` says
"cannot create directory" when the lock is held, `stat` says "No such file or directory"
when it is not.
"""

from __future__ import annotations

import base64
import posixpath
from datetime import datetime
from typing import Any

from kamalnb.commands.base import Command, combine, command, pipe, write
from kamalnb.commands.timestamps import iso8601

AUTOMATIC_MESSAGE = "Automatic deploy lock"


def ruby_encode64(data: bytes) -> str:
    """Ruby's `Base64.encode64`: lines of 60 characters, each ending in a newline."""
    encoded = base64.b64encode(data).decode("ascii")
    return "".join(encoded[start : start + 60] + "\n" for start in range(0, len(encoded), 60))


def lock_details(message: str, version: str, locked_by: str, locked_at: datetime) -> str:
    """The three lines stored in the lock, as Kamal writes them."""
    text = f"Locked by: {locked_by} at {iso8601(locked_at)}\nVersion: {version}\nMessage: {message}"
    return text.strip(" \t\n\v\f\r\0")


class Lock:
    def __init__(self, config: Any) -> None:
        self.config = config

    @property
    def lock_dir(self) -> str:
        name = "-".join(part for part in ("lock", self.config.service, self.config.destination) if part)
        return posixpath.join(self.config.run_directory, name)

    @property
    def details_file(self) -> str:
        return posixpath.join(self.lock_dir, "details")

    def acquire(self, message: str, version: str, *, locked_by: str, locked_at: datetime) -> Command:
        """`mkdir <lock> && echo "<base64 details>" > <lock>/details`; `locked_by` is git's user.name."""
        encoded = ruby_encode64(lock_details(message, version, locked_by, locked_at).encode("utf-8"))
        return combine(
            command("mkdir", self.lock_dir),
            write(command("echo", f'"{encoded}"'), self.details_file),
        )

    def release(self) -> Command:
        return combine(command("rm", self.details_file), command("rm", "-r", self.lock_dir))

    def status(self) -> Command:
        return combine(
            write(command("stat", self.lock_dir), "/dev/null"),
            pipe(command("cat", self.details_file), command("base64", "-d")),
        )
