"""`sshkit:`: connection pool settings."""

from __future__ import annotations

from typing import Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.validator import validate


class Sshkit(Frozen):
    def __init__(self, sshkit_config: dict[str, Any] | None) -> None:
        self.sshkit_config: dict[str, Any] = sshkit_config or {}
        validate(self.sshkit_config, schema.SSHKIT, "sshkit")
        self._freeze()

    @property
    def max_concurrent_starts(self) -> int:
        return self.sshkit_config.get("max_concurrent_starts", 30)

    @property
    def pool_idle_timeout(self) -> int:
        return self.sshkit_config.get("pool_idle_timeout", 900)

    @property
    def dns_retries(self) -> int:
        return int(self.sshkit_config.get("dns_retries", 3))

    def to_h(self) -> dict[str, Any]:
        return dict(self.sshkit_config)
