"""Kamal's test/commands/auditor_test.rb and the audit lines of kamal.md §3.9."""

from datetime import UTC, datetime

import pytest

from kamalnb.commands.auditor import Auditor

RECORDED_AT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.fixture
def auditor(load_config, simple_settings):
    def _auditor(destination=None, **details):
        config = load_config(simple_settings(), destination=destination, version="123")
        return Auditor(config, recorded_at=RECORDED_AT, performer="jane@example.com", **details)

    return _auditor


def test_record(auditor):
    assert auditor().record("app removed container").words == (
        "mkdir", "-p", ".kamal", "&&",
        "echo", '"[2023-11-14T22:13:20Z] [jane@example.com] app removed container"',
        ">>", ".kamal/app-audit.log",
    )


def test_record_with_destination(auditor):
    assert str(auditor(destination="staging").record("app removed container")) == (
        'mkdir -p .kamal && echo "[2023-11-14T22:13:20Z] [jane@example.com] [staging] app removed container" '
        ">> .kamal/app-staging-audit.log"
    )


def test_record_with_command_details(auditor):
    assert str(auditor(role="web").record("app removed container")) == (
        'mkdir -p .kamal && echo "[2023-11-14T22:13:20Z] [jane@example.com] [web] app removed container" >> .kamal/app-audit.log'
    )


def test_record_with_arg_details(auditor):
    assert str(auditor().record("app removed container", detail="value")) == (
        'mkdir -p .kamal && echo "[2023-11-14T22:13:20Z] [jane@example.com] [value] app removed container" >> .kamal/app-audit.log'
    )


def test_record_with_destination_and_role(auditor):
    assert str(auditor(destination="staging", role="web").record("Booted app version abc1234def")) == (
        'mkdir -p .kamal && echo "[2023-11-14T22:13:20Z] [jane@example.com] [staging] [web] Booted app version abc1234def" '
        ">> .kamal/app-staging-audit.log"
    )


def test_record_quotes_the_line_for_the_shell(auditor):
    assert str(auditor().record("Executed cmd 'echo \"$HOME\"' on app version 123")) == (
        'mkdir -p .kamal && echo "[2023-11-14T22:13:20Z] [jane@example.com] Executed cmd \'echo \\"\\$HOME\\"\' '
        'on app version 123" >> .kamal/app-audit.log'
    )


def test_reveal(auditor):
    assert str(auditor().reveal()) == "tail -n 50 .kamal/app-audit.log"
    assert str(auditor(destination="staging").reveal()) == "tail -n 50 .kamal/app-staging-audit.log"
