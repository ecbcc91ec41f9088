"""Values that reach the hosts' shell are quoted: Kamal's line where Kamal's is safe, a
quoted word where a value would otherwise end its quoting or be read as syntax."""

from __future__ import annotations

import pytest

from kamalnb.commands import App
from kamalnb.commands.base import grep_pattern


@pytest.fixture
def app_commands(load_config, simple_settings) -> App:
    config = load_config(simple_settings())
    return App(config, config.role("web"), "1.1.1.1")


def test_a_plain_grep_pattern_is_kamal_s() -> None:
    assert grep_pattern("error 500") == "'error 500'"
    assert grep_pattern("error 500", quote='"') == '"error 500"'


def test_a_quote_in_a_grep_pattern_does_not_end_it() -> None:
    assert grep_pattern("it's; reboot") == "'it'\\''s; reboot'"
    assert grep_pattern('say "$(reboot)"', quote='"') == '"say \\"\\$(reboot)\\""'


def test_app_logs_quote_since_lines_and_grep(app_commands) -> None:
    line = str(app_commands.logs(since="1h; reboot", lines="5; reboot", grep="a'b"))
    assert "--since '1h; reboot'" in line
    assert "--tail '5; reboot'" in line
    assert "grep 'a'\\''b'" in line


def test_an_ipv6_host_name_is_one_word_in_docker_run(app_commands) -> None:
    assert "--hostname '[::1]-abc'" in str(app_commands.run(hostname="[::1]-abc"))
