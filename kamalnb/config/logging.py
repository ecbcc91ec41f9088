"""`logging:` (root and per role): the container's log driver and options."""

from __future__ import annotations

from typing import Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import argumentize, deep_merge, optionize, present
from kamalnb.config.validator import validate


class Logging(Frozen):
    def __init__(self, logging_config: dict[str, Any] | None, context: str = "logging",
                 validate_config: bool = True) -> None:
        self.logging_config: dict[str, Any] = logging_config or {}
        if validate_config:
            validate(self.logging_config, schema.LOGGING, context)
        self._freeze()

    @property
    def driver(self) -> str | None:
        return self.logging_config.get("driver")

    @property
    def options(self) -> dict[str, Any]:
        return self.logging_config.get("options", {})

    def merge(self, other: Logging) -> Logging:
        return Logging(deep_merge(self.logging_config, other.logging_config), validate_config=False)

    @property
    def args(self) -> list[str]:
        """`--log-driver "x" --log-opt k="v"`; `--log-opt max-size="10m"` when nothing is set."""
        if present(self.driver) or present(self.options):
            driver = {"log-driver": self.driver} if self.driver is not None else {}
            return optionize(driver) + argumentize("--log-opt", self.options)
        return argumentize("--log-opt", {"max-size": "10m"})

    def __repr__(self) -> str:
        return f"Logging({self.logging_config!r})"
