"""The audit log of every host, merged and parsed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from kamalnb import facts
from kamalnb.commands.auditor import AUDIT_LINES_SHOWN, Auditor
from kamalnb.facts import AuditEntry, parse_audit_line
from kamalnb.state.base import EPOCH, answers, config_of, executor_for, frame, read_each

if TYPE_CHECKING:
    from kamalnb.executors import Executor

AUDIT_COLUMNS = ("time", "host", "performer", "destination", "role", "details", "message", "error")


def audit(app: Any, executor: Executor | None = None, lines: int = AUDIT_LINES_SHOWN) -> pd.DataFrame:
    """The last `lines` lines of each host's audit log, merged and sorted by time.

    `role` is the first tag after the destination (Kamal tags app actions with the role);
    `details` holds every such tag. A host without a log contributes no rows.
    """
    if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
        raise ValueError(f"lines should be a whole number above 0, not {lines!r}")
    config = config_of(app)
    names = config.specifics.hosts
    read = facts.audit_lines(Auditor(config, recorded_at=datetime.now(UTC), performer=""), lines)
    with executor_for(config, executor) as ssh:
        found = read_each(names, lambda host: ssh.read(host, read))
    order = {host: index for index, host in enumerate(names)}
    entries: list[tuple[str, AuditEntry]] = []
    rows: list[dict[str, Any]] = []
    for host, answer in answers(found, names, rows):
        entries += [(host, parse_audit_line(line, config.destination)) for line in answer]
    # Stable sort: lines of one host keep their order when their times are equal.
    entries.sort(key=lambda item: (item[1].recorded_at or EPOCH, order[item[0]]))
    rows[:0] = [
        {"time": entry.recorded_at, "host": host, "performer": entry.performer, "destination": entry.destination,
         "role": entry.details[0] if entry.details else None, "details": ", ".join(entry.details),
         "message": entry.message}
        for host, entry in entries
    ]
    return frame(rows, AUDIT_COLUMNS, times=("time",))
