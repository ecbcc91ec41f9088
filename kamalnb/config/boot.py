"""`boot:`: how many hosts boot at once, and the pause between groups."""

from __future__ import annotations

from typing import Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import to_s
from kamalnb.config.validator import validate


class Boot(Frozen):
    def __init__(self, boot_config: dict[str, Any] | None, host_count: int) -> None:
        self.boot_config: dict[str, Any] = boot_config or {}
        self.host_count = host_count
        validate(self.boot_config, schema.BOOT, "boot")
        self._freeze()

    @property
    def limit(self) -> int | None:
        """Hosts per group; a percentage is of all hosts (accessory hosts included), at least 1."""
        limit = self.boot_config.get("limit")
        text = to_s(limit)
        if text.endswith("%"):
            digits = ""
            for ch in text.strip():
                if not ch.isdigit():
                    break
                digits += ch
            return max(self.host_count * int(digits or 0) // 100, 1)
        return limit

    @property
    def wait(self) -> int | None:
        return self.boot_config.get("wait")

    @property
    def parallel_roles(self) -> bool:
        return bool(self.boot_config.get("parallel_roles"))
