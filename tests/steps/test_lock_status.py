"""How a held lock is described: holder, age, and when it counts as stale (no host needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kamalnb.facts import LockInfo
from kamalnb.steps.lock import LockStatus


def held_since(seconds: float, stale_after: float = 3600) -> LockStatus:
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    return LockStatus("10.0.0.1", True, LockInfo("Jane Doe", at.replace(microsecond=0), "abc123", "Automatic deploy lock"),
                      stale_after)


def test_a_fresh_lock_names_holder_version_message_and_age() -> None:
    status = held_since(75)
    assert not status.stale
    lines = status.describe().splitlines()
    assert lines[0].startswith("Locked by: Jane Doe at ") and lines[0].endswith(", 1m 15s ago")
    assert lines[1:] == ["Version: abc123", "Message: Automatic deploy lock"]


def test_a_lock_older_than_the_limit_is_stale() -> None:
    status = held_since(2 * 3600 + 300)
    assert status.stale
    assert "2h 5m ago (STALE: older than 1h 0m)" in status.describe()
    assert held_since(90000).describe().splitlines()[0].endswith("1d 1h ago (STALE: older than 1h 0m)")


def test_no_lock() -> None:
    status = LockStatus("10.0.0.1", False)
    assert not status.stale and status.age is None
    assert status.describe() == "There is no deploy lock on 10.0.0.1"
    frame = status.to_frame()
    assert frame.to_dict("records") == [{"host": "10.0.0.1", "held": False, "locked_by": None, "version": None,
                                         "message": None, "locked_at": None, "age": None, "stale": False}]
