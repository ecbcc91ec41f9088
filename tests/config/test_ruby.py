"""The Ruby behaviours Kamal's names and arguments depend on."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kamalnb.config.ruby import (
    argumentize,
    deep_merge,
    either,
    escape_shell_value,
    fnmatch_extglob,
    optionize,
    present,
    shellescape,
    version_greater,
)
from tests.config.conftest import requires_kamal, run_kamal, write_project


@pytest.mark.parametrize("value, expected", [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("$HOME and ${HOST_TOKEN}", '"\\$HOME and ${HOST_TOKEN}"'),
    ("back`tick`", '"back\\`tick\\`"'),
    ("a\\b", '"a\\\\b"'),
    ("line\nbreak", '"line\\nbreak"'),
    ("abc 中文", '"abc "中文'),
    ("#{x} #$y #z", '"\\#{x} \\#\\$y #z"'),
    (3000, '"3000"'),
    (True, '"true"'),
])
def test_escape_shell_value(value: object, expected: str) -> None:
    assert escape_shell_value(value) == expected


def test_argumentize_and_optionize() -> None:
    assert argumentize("--env", {"A": "", "B": None, "C": False, "D": "x y"}) == [
        "--env", "A", "--env", "B", "--env", "C=false", "--env", 'D="x y"']
    assert argumentize("--volume", ["/a:/b", "c:/d"]) == ["--volume", "/a:/b", "--volume", "c:/d"]
    assert optionize({"memory": "2g", "init": True, "cap-add": ["A", "B"]}) == [
        "--memory", '"2g"', "--init", "--cap-add", '"A"', "--cap-add", '"B"']
    assert optionize({"target": "abc:80", "tls": True}, with_="=") == ['--target="abc:80"', "--tls"]


def test_present_and_either() -> None:
    assert not present("  ") and not present([]) and not present(None) and not present(False)
    assert present(0) and present("x") and present([0])
    assert either(0, 5) == 0 and either("", "d") == "" and either(None, 5) == 5 and either(False, 5) == 5


def test_deep_merge_replaces_arrays() -> None:
    base = {"servers": ["a", "b"], "env": {"clear": {"A": 1, "B": 2}}}
    merged = deep_merge(base, {"servers": ["c"], "env": {"clear": {"B": 3}}})
    assert merged == {"servers": ["c"], "env": {"clear": {"A": 1, "B": 3}}}
    assert base["env"]["clear"]["B"] == 2


@pytest.mark.parametrize("left, right, greater", [
    ("2.13.0", "2.12.0", True), ("2.12", "2.12.0", False), ("2.12.0", "2.12.0.beta", True),
    ("1.10", "1.9", True), ("3", "2.99.99", True), ("2.0.0.rc1", "2.0.0", False),
])
def test_version_greater(left: str, right: str, greater: bool) -> None:
    assert version_greater(left, right) is greater


@pytest.mark.parametrize("pattern, name, matches", [
    ("web*", "web-1", True), ("*.example.com", "a.example.com", True), ("1.1.1.?", "1.1.1.12", False),
    ("{web,api}", "api", True), ("1.1.1.[12]", "1.1.1.2", True), ("1.1.1.[!12]", "1.1.1.2", False),
    ("web", "web2", False),
])
def test_fnmatch_extglob(pattern: str, name: str, matches: bool) -> None:
    assert fnmatch_extglob(pattern, name) is matches


def test_shellescape() -> None:
    assert shellescape("") == "''"
    assert shellescape('{"a":"b c"}') == '\\{\\"a\\":\\"b\\ c\\"\\}'
    assert shellescape("a\nb") == "a'\n'b"


ORACLE = """<%
require "json"
require "base64"
input = JSON.parse(Base64.strict_decode64("{payload}"))
$stderr.puts "ORACLE" + JSON.generate([
  input["escape"].map {{ |v| Kamal::Utils.escape_shell_value(v) }},
  input["versions"].map {{ |a, b| Gem::Version.new(a) > Gem::Version.new(b) }},
  input["globs"].map {{ |p, n| File.fnmatch(p, n, File::FNM_EXTGLOB) }},
  input["shell"].map(&:shellescape),
])
%>
service: app
image: app
servers: [1.1.1.1]
registry: {{server: "localhost:5000"}}
builder: {{arch: amd64}}
"""

ESCAPE = ["plain", 'say "hi"', "$HOME and ${HOST_TOKEN} $", "back`tick`", "a\\b", "line\nbreak\r", "abc 中文 def",
          "#{x} #$y #@z #z", "tab\there", "\x1b\x01\x7f\x00", "ünï $X", "${unclosed", "$(cmd)", "''"]
VERSIONS = [["2.13.0", "2.12.0"], ["2.12", "2.12.0"], ["2.12.0", "2.12.0.beta"], ["1.10", "1.9"], ["3", "2.99.99"],
            ["2.0.0.rc1", "2.0.0"], ["2.0.0.a", "2.0.0.b"], ["1.0.0a", "1.0.0"], ["0.9", "1"], ["2.11.0", "2.11"]]
GLOBS = [["web*", "web-1"], ["{web,api}", "api"], ["1.1.1.[!12]", "1.1.1.2"], ["1.1.1.?", "1.1.1.12"],
         ["a/*", "a/b/c"], ["*", "a/b"], ["[a-c]x", "bx"], ["\\*", "*"], ["{a,b}{1,2}", "b2"], ["*.ex.com", "x.ex.com"]]
SHELL = ["", "a b", '{"k":"v $x"}', "a\nb", "é ü", "safe-_.,:+/@chars"]


@requires_kamal
def test_helpers_agree_with_ruby(tmp_path: Path) -> None:
    payload = base64.b64encode(json.dumps(
        {"escape": ESCAPE, "versions": VERSIONS, "globs": GLOBS, "shell": SHELL}).encode()).decode()
    write_project(tmp_path, {"config/deploy.yml": ORACLE.format(payload=payload)})
    result = run_kamal(tmp_path, ["config"], {"VERSION": "1"})
    line = next(line for line in result.stderr.splitlines() if line.startswith("ORACLE"))
    escaped, versions, globs, shell = json.loads(line[len("ORACLE"):])
    assert [escape_shell_value(value) for value in ESCAPE] == escaped
    assert [version_greater(a, b) for a, b in VERSIONS] == versions
    assert [fnmatch_extglob(p, n) for p, n in GLOBS] == globs
    assert [shellescape(value) for value in SHELL] == shell
