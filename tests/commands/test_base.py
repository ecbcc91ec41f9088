import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamalnb.commands.base import (
    Command,
    Sensitive,
    any_of,
    argumentize,
    chain,
    combine,
    command,
    docker,
    escape_shell_value,
    optionize,
    pipe,
    shell,
    xargs,
)
from kamalnb.sensitive import Secret


@pytest.mark.parametrize(
    "value, expected",
    [
        ("secret", '"secret"'),
        ("more-secret'\"", '"more-secret\'\\""'),
        ("${HOST_TOKEN}", '"${HOST_TOKEN}"'),
        ("$HOME", '"\\$HOME"'),
        ("a`b`", '"a\\`b\\`"'),
        ("back\\slash", '"back\\\\slash"'),
        ("abc 中文", '"abc "中文'),
        ("中文abc", '中文"abc"'),
        ("#{x} #$y #@z #a", '"\\#{x} \\#\\$y \\#@z #a"'),
        ("a\nb\tc", '"a\\nb\\tc"'),
        ("\x7f\x01", '"\\x7F\\x01"'),
        (10, '"10"'),
        (True, '"true"'),
        (None, ""),
        ("", ""),
    ],
)
def test_escape_shell_value_matches_ruby_dump(value, expected):
    assert escape_shell_value(value) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E).filter(lambda c: c != "#"), max_size=40))
def test_escaped_value_reaches_the_shell_intact(value):
    # `${...}` is deliberately left for the remote shell to expand, so it cannot round-trip.
    if "${" in value:
        return
    out = subprocess.run(["sh", "-c", f"printf %s {escape_shell_value(value)}"], capture_output=True, text=True, check=True)
    assert out.stdout == value


def test_argumentize_like_kamal():
    assert argumentize("--env", {"A": "1", "B": "", "C": False, "D": None, "E": "  "}) == (
        "--env", 'A="1"', "--env", "B", "--env", "C=false", "--env", "D", "--env", "E",
    )
    assert argumentize("--filter", ["label=service=app", "status=running"]) == (
        "--filter", "label=service=app", "--filter", "status=running",
    )
    assert argumentize("--volume", "/a:/b") == ("--volume", "/a:/b")
    assert argumentize("--secret", [("id", "token")]) == ("--secret", 'id="token"')


def test_argumentize_sensitive_redacts_only_the_value():
    words = argumentize("--build-arg", {"TOKEN": "abc"}, sensitive=True)
    cmd = Command(("docker", "build", *words))
    assert str(cmd) == "docker build --build-arg TOKEN=[REDACTED]"
    assert cmd.render() == 'docker build --build-arg TOKEN="abc"'


def test_argumentize_secret_value_is_redacted():
    cmd = Command(argumentize("--env", {"KEY": Secret("s3cr3t")}))
    assert str(cmd) == "--env KEY=[REDACTED]"
    assert cmd.render() == '--env KEY="s3cr3t"'


def test_optionize_like_kamal():
    assert optionize({"mount": "somewhere", "cap-add": True, "cpus": 4}) == ("--mount", '"somewhere"', "--cap-add", "--cpus", '"4"')
    assert optionize({"label": ["a=1", "b=2"]}) == ("--label", '"a=1"', "--label", '"b=2"')
    assert optionize({"log-driver": "local"}, with_="=") == ('--log-driver="local"',)
    assert optionize({"debug": True, "x": "y"}, with_="=", escape=False) == ("--debug", "--x=y")


def test_combinators_join_with_shell_operators():
    assert str(combine(command("mkdir", "-p", ".kamal"), None, command("echo", "hi"))) == "mkdir -p .kamal && echo hi"
    assert str(chain(docker("ps"), docker("images"))) == "docker ps ; docker images"
    assert str(pipe(docker("ps", "-q"), xargs(docker("stop")))) == "docker ps -q | xargs docker stop"
    assert str(any_of(docker("start", "x"), docker("run", "x"))) == "docker start x || docker run x"


def test_shell_wraps_and_escapes_single_quotes():
    assert str(shell(command("docker", "ps", "--format", "'{{.ID}}'"))) == "sh -c 'docker ps --format '\\''{{.ID}}'\\'''"


def test_shell_keeps_secrets_redacted_inside_the_payload():
    cmd = shell(command("echo", Secret("pw")))
    assert str(cmd) == "sh -c 'echo [REDACTED]'"
    assert cmd.render() == "sh -c 'echo pw'"


def test_stdin_survives_combination_but_only_once():
    login = Command(("docker", "login"), stdin=Secret("pw"))
    assert combine(login, command("true")).stdin == Secret("pw")
    with pytest.raises(ValueError):
        combine(login, login)


def test_sensitive_displays_its_redaction():
    word = Sensitive('a="1"', redaction="a=[REDACTED]")
    assert str(word) == repr(word) == f"{word}" == "a=[REDACTED]"
    assert word.reveal() == 'a="1"'
