"""The audit log: one line per action, appended on each host to `.kamal/<svc>[-<dest>]-audit.log`."""

from __future__ import annotations

import posixpath
from datetime import datetime
from typing import Any

from kamalnb.commands.base import Command, append, combine, command, escape_shell_value
from kamalnb.commands.tags import Tags

AUDIT_LINES_SHOWN = 50


class Auditor:
    """Audit commands for one performer at one moment; `details` (e.g. `role="web"`) tag every line."""

    def __init__(self, config: Any, *, recorded_at: datetime, performer: str, **details: object) -> None:
        self.config = config
        self.recorded_at = recorded_at
        self.performer = performer
        self.details = details

    @property
    def audit_log_file(self) -> str:
        name = "-".join(part for part in (self.config.service, self.config.destination, "audit.log") if part)
        return posixpath.join(self.config.run_directory, name)

    def audit_line(self, line: str, **details: object) -> str:
        """`[time] [performer] [destination] [details]… line`; version and service are left out."""
        tags = Tags.from_config(
            self.config, recorded_at=self.recorded_at, performer=self.performer, **{**self.details, **details}
        )
        return f"{tags.except_('version', 'service_version', 'service')} {line}"

    def record(self, line: str, **details: object) -> Command:
        return combine(
            command("mkdir", "-p", self.config.run_directory),
            append(command("echo", escape_shell_value(self.audit_line(line, **details))), self.audit_log_file),
        )

    def reveal(self, lines: int = AUDIT_LINES_SHOWN) -> Command:
        return command("tail", "-n", str(lines), self.audit_log_file)
