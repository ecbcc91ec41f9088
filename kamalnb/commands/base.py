"""The command type every builder returns and every executor runs.

A command is a sequence of shell words, each already quoted the way Kamal quotes it, so
that `str(command)` is exactly the line Kamal would send for the same configuration.
Words may be `Secret`s: the display shows [REDACTED], only `render()` reveals them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Iterable

from kamalnb.sensitive import Secret, reveal

Word = "str | Secret"


@dataclass(frozen=True)
class Command:
    words: tuple[str | Secret, ...]
    stdin: str | Secret | None = None

    @classmethod
    def from_argv(cls, argv: Iterable[str], stdin: str | Secret | None = None) -> "Command":
        """A command whose words are plain arguments, quoted so the remote side gets them intact."""
        return cls(tuple(shlex.quote(arg) for arg in argv), stdin)

    def render(self) -> str:
        """The line sent to the shell, secrets revealed. Never print it."""
        return " ".join(reveal(word) for word in self.words)

    def __str__(self) -> str:
        return " ".join(str(word) for word in self.words)
