"""A value that never prints: reprs, logs, reports and notebooks show [REDACTED]."""

from __future__ import annotations

REDACTED = "[REDACTED]"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that must send it (stdin, an env file)."""
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value
