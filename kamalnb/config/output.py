"""`output:`: where deploy logs are shipped (a file per command, or an OTLP endpoint)."""

from __future__ import annotations

from typing import Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.validator import validate


class Output(Frozen):
    def __init__(self, output_config: dict[str, Any] | None) -> None:
        self.output_config: dict[str, Any] = output_config or {}
        if self.output_config:
            validate(self.output_config, schema.OUTPUT, "output")
        self._freeze()

    @property
    def enabled(self) -> bool:
        return bool(self.output_config)

    @property
    def file_path(self) -> str | None:
        return (self.output_config.get("file") or {}).get("path")

    @property
    def otel_endpoint(self) -> str | None:
        return (self.output_config.get("otel") or {}).get("endpoint")

    def to_h(self) -> dict[str, Any]:
        return dict(self.output_config)
