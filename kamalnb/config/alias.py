"""`aliases:`: short names for longer command lines."""

from __future__ import annotations

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import to_s
from kamalnb.config.validator import AliasValidator, validate


class Alias(Frozen):
    def __init__(self, name: str, command: str) -> None:
        validate(command, schema.ALIAS, f"aliases/{name}", AliasValidator)
        self.name = name
        self.command = to_s(command)
        self._freeze()

    def __repr__(self) -> str:
        return f"Alias({self.name!r}, {self.command!r})"
