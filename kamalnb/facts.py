"""Pure parsers of what the hosts answer: command output -> records. No I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

_LOCKED_BY = re.compile(r"^Locked by: (?P<by>.*) at (?P<at>\S+)$")


@dataclass(frozen=True)
class LockInfo:
    """The content of Kamal's `.kamal/lock-<svc>[-<dest>]/details`."""

    locked_by: str
    locked_at: datetime | None
    version: str
    message: str

    def age(self, now: datetime | None = None) -> float | None:
        if self.locked_at is None:
            return None
        return ((now or datetime.now(timezone.utc)) - self.locked_at).total_seconds()


def parse_lock_details(text: str) -> LockInfo:
    locked_by, locked_at, version, message = "", None, "", ""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if match := _LOCKED_BY.match(line):
            locked_by = match["by"]
            try:
                locked_at = datetime.fromisoformat(match["at"].replace("Z", "+00:00"))
            except ValueError:
                locked_at = None
        elif line.startswith("Version: "):
            version = line.removeprefix("Version: ")
        elif line.startswith("Message: "):
            # A message may span lines: it is the last field.
            message = "\n".join([line.removeprefix("Message: "), *lines[index + 1:]]).rstrip("\n")
            break
    return LockInfo(locked_by, locked_at, version, message)
