"""The dotenv syntax of `.kamal/secrets*`, parsed as Kamal parses it.

Kamal uses Ruby's dotenv gem with one change: `$(kamal secrets ...)` runs in-process.
The rules reproduced here: `KEY=value` lines (optionally `export`), single quotes keep
everything literal, double quotes turn `\\n` into a newline marker, backslashes escape the
next character, `$(command)` runs locally (after `$VAR` expansion inside it), then `$VAR`
and `${VAR}` expand from the keys defined earlier in the same file, then the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from kamalnb.config.ruby import inspect
from kamalnb.errors import ConfigError

_LINE = re.compile(
    r"""
    (?:^|\A)
    \s*
    (?P<export>export\s+)?
    (?P<key>[\w.]+)
    (?:
      (?:\s*=\s*?|:\s+?)
      (?P<value>
        \s*'(?:\\'|[^'])*'
        |
        \s*"(?:\\"|[^"])*"
        |
        [^\#\n]+
      )?
    )?
    \s*
    (?:\#.*)?
    (?:$|\Z)
    """,
    re.X | re.M | re.ASCII,
)
_QUOTED = re.compile(r"\A(['\"])(.*)\1\Z", re.S)
_VARIABLE = re.compile(r"(\\)?(\$)(?!\()\{?([A-Z0-9_]+)?\}?", re.I)

CommandRunner = Callable[[str], str]


def _ruby_strip(value: str) -> str:
    return value.strip(" \t\n\v\f\r\0")


def substitute_variables(value: str, defined: Mapping[str, str], environ: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]
        name = match.group(3)
        if name:
            found = defined.get(name)
            if found is None:
                found = environ.get(name)
            return found or ""
        return match.group(0)

    return _VARIABLE.sub(replace, value)


def _command_end(value: str, open_paren: int) -> int:
    """Index just past the `)` closing the group at `open_paren`, or -1."""
    depth = 0
    index = open_paren
    length = len(value)
    while index < length:
        ch = value[index]
        if ch == "\\" and depth > 0 and index + 1 < length:
            index += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return index + 1 if index > open_paren + 1 else -1
        index += 1
    return -1


def substitute_commands(value: str, defined: Mapping[str, str], environ: Mapping[str, str], run: CommandRunner) -> str:
    out: list[str] = []
    index = 0
    while True:
        dollar = value.find("$(", index)
        if dollar < 0:
            out.append(value[index:])
            return "".join(out)
        end = _command_end(value, dollar + 1)
        if end < 0:
            out.append(value[index:dollar + 1])
            index = dollar + 1
            continue
        escaped = dollar > 0 and value[dollar - 1] == "\\"
        if escaped:
            out.append(value[index:dollar - 1])
            out.append(value[dollar:end])
        else:
            out.append(value[index:dollar])
            command = substitute_variables(value[dollar + 2:end - 1], defined, environ)
            out.append(run(command))
        index = end


def _parse_value(raw: str, defined: Mapping[str, str], environ: Mapping[str, str], run: CommandRunner) -> str:
    value = _ruby_strip(raw)
    quote = None
    match = _QUOTED.match(value)
    if match:
        quote, value = match.group(1), match.group(2)
    if quote == '"':
        if (defined.get("DOTENV_LINEBREAK_MODE") or environ.get("DOTENV_LINEBREAK_MODE")) == "legacy":
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        else:
            value = value.replace("\\n", "\\\\n").replace("\\r", "\\\\r")
    if quote != "'":
        value = re.sub(r"\\([^$])", r"\1", value, flags=re.S)
        value = substitute_commands(value, defined, environ, run)
        value = substitute_variables(value, defined, environ)
    return value


def parse(text: str, *, run: CommandRunner, environ: Mapping[str, str] | None = None,
          filename: str = "") -> dict[str, str]:
    """Parse dotenv `text`; `run` executes `$(...)` commands and returns their output."""
    environ = os.environ if environ is None else environ
    text = re.sub(r"\r\n?", "\n", text)
    values: dict[str, str] = {}
    for match in _LINE.finditer(text):
        key, raw = match.group("key"), match.group("value")
        if match.group("export") and raw is None:
            if key not in values:
                where = f"{filename}: " if filename else ""
                raise ConfigError(
                    f"{where}Line {inspect(match.group(0))} has an unset variable (export {key} without a value)"
                )
            continue
        values[key] = _parse_value(raw or "", values, environ, run)
    return values
