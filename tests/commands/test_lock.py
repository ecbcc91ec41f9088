"""Kamal's test/commands/lock_test.rb, with Kamal's exact Base64 layout (60-character lines)."""

import base64
import re
from datetime import UTC, datetime

import pytest

from kamalnb.commands.lock import AUTOMATIC_MESSAGE, Lock, lock_details, ruby_encode64

LOCKED_AT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.fixture
def lock(load_config, simple_settings):
    return Lock(load_config(simple_settings(), destination="production", version="123"))


def test_status(lock):
    assert str(lock.status()) == "stat .kamal/lock-app-production > /dev/null && cat .kamal/lock-app-production/details | base64 -d"


def test_release(lock):
    assert str(lock.release()) == "rm .kamal/lock-app-production/details && rm -r .kamal/lock-app-production"


def test_acquire_matches_kamals_bytes(load_config, simple_settings):
    lock = Lock(load_config(simple_settings(), destination="staging", version="abc1234def"))
    assert str(lock.acquire(AUTOMATIC_MESSAGE, "abc1234def", locked_by="Jane Doe", locked_at=LOCKED_AT)) == (
        'mkdir .kamal/lock-app-staging && echo "TG9ja2VkIGJ5OiBKYW5lIERvZSBhdCAyMDIzLTExLTE0VDIyOjEzOjIwWgpW\n'
        "ZXJzaW9uOiBhYmMxMjM0ZGVmCk1lc3NhZ2U6IEF1dG9tYXRpYyBkZXBsb3kg\n"
        'bG9jaw==\n" > .kamal/lock-app-staging/details'
    )


def test_acquire_encodes_non_ascii_lock_details_for_the_shell(lock):
    cmd = str(lock.acquire("Hello", "123", locked_by="Сергей Федоров", locked_at=LOCKED_AT))
    assert cmd.isascii()
    encoded = re.match(r'mkdir \.kamal/lock-app-production && echo "(.*)" > \.kamal/lock-app-production/details', cmd, re.S)[1]
    assert base64.b64decode(encoded).decode() == (
        "Locked by: Сергей Федоров at 2023-11-14T22:13:20Z\nVersion: 123\nMessage: Hello"
    )


def test_without_destination(load_config, simple_settings):
    lock = Lock(load_config(simple_settings()))
    assert str(lock.release()) == "rm .kamal/lock-app/details && rm -r .kamal/lock-app"


def test_ruby_encode64_wraps_every_60_characters():
    assert ruby_encode64(b"") == ""
    assert ruby_encode64(b"abc") == "YWJj\n"
    encoded = ruby_encode64(b"x" * 100)
    assert [len(line) for line in encoded.splitlines()] == [60, 60, 16]
    assert encoded.endswith("\n")


def test_lock_details_strip_trailing_whitespace():
    assert lock_details("Hi  \n", "1", "Me", LOCKED_AT) == "Locked by: Me at 2023-11-14T22:13:20Z\nVersion: 1\nMessage: Hi"
