"""Shared fixtures. Tests that need hosts share one sandbox fleet per test session."""

from __future__ import annotations

import os

import pytest

from kamalnb.sandbox import Sandbox

TEST_SANDBOX = os.environ.get("KAMALNB_TEST_SANDBOX", "test")


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The test fleet: 3 real hosts, started once and stopped at the end unless it already ran."""
    fleet = Sandbox(TEST_SANDBOX, hosts=3)
    already_running = fleet.running()
    fleet.up()
    yield fleet
    if not already_running and not os.environ.get("KAMALNB_KEEP_SANDBOX"):
        fleet.down()
