"""Kamal's tags: who did what, when, where; shown in audit lines and given to hooks as env."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kamalnb.commands.timestamps import iso8601


def service_version(config: Any) -> str:
    """`<service>@<abbreviated version>` (KAMAL_SERVICE_VERSION)."""
    return "@".join(part for part in (config.service, config.abbreviated_version) if part)


class Tags:
    """An ordered set of named details; nil details are dropped as Kamal drops them."""

    def __init__(self, **tags: object) -> None:
        self.tags: dict[str, object] = {key: value for key, value in tags.items() if value is not None}

    @classmethod
    def from_config(cls, config: Any, *, recorded_at: datetime, performer: str, **extra: object) -> Tags:
        """Default tags (time, performer, destination, version, service) then `extra`, in that order.

        `performer` is `git config user.email`, or `whoami` when git has none.
        """
        defaults: dict[str, object] = {
            "recorded_at": iso8601(recorded_at),
            "performer": performer,
            "destination": config.destination,
            "version": config.version,
            "service_version": service_version(config),
            "service": config.service,
        }
        defaults.update(extra)
        return cls(**defaults)

    def env(self) -> dict[str, str]:
        """`KAMAL_<DETAIL>` variables for hooks."""
        return {f"KAMAL_{key.upper()}": _text(value) for key, value in self.tags.items()}

    def except_(self, *names: str) -> Tags:
        return Tags(**{key: value for key, value in self.tags.items() if key not in names})

    def __str__(self) -> str:
        return " ".join(f"[{_text(value)}]" for value in self.tags.values())


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)
