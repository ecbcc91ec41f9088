"""Timestamps as Kamal prints them (Ruby's `Time#utc.iso8601`)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso8601(moment: datetime) -> str:
    """`2023-11-14T22:13:20Z`; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
