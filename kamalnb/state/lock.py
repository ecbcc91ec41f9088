"""The deploy lock on the primary host: held or free, by whom, since when, stale or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from kamalnb import facts
from kamalnb.commands.lock import Lock
from kamalnb.extension import Extension
from kamalnb.state.base import config_of, error_text, executor_for, frame, read_each

if TYPE_CHECKING:
    from kamalnb.config import Configuration
    from kamalnb.executors import Executor

LOCK_COLUMNS = ("host", "held", "locked_by", "version", "message", "locked_at", "age", "stale", "error")


def _status(executor: Executor, host: str, config: Configuration, stale_after: float) -> dict[str, Any]:
    details = executor.read(host, facts.lock(Lock(config)))
    if details is None:
        return {"held": False}
    age = details.age(datetime.now(UTC))
    return {
        "held": True, "locked_by": details.locked_by, "version": details.version, "message": details.message,
        "locked_at": details.locked_at, "age": None if age is None else timedelta(seconds=age),
        "stale": None if age is None else age > stale_after,
    }


def lock_status(app: Any, executor: Executor | None = None) -> pd.DataFrame:
    """One row for the primary host. `stale` is True when the lock is older than
    `x-kamalnb: lock_stale_after` (seconds, 3600 by default)."""
    config = config_of(app)
    host = config.specifics.primary_host
    stale_after = Extension.from_config(config.kamalnb).lock_stale_after
    rows: list[dict[str, Any]] = []
    if host is not None:
        with executor_for(config, executor) as ssh:
            found = read_each([host], lambda name: _status(ssh, name, config, stale_after))
        rows.append({"host": host, "error": error_text(found.errors[host])} if host in found.errors
                    else {"host": host, **found.results[host]})
    return frame(rows, LOCK_COLUMNS, times=("locked_at",), durations=("age",))
