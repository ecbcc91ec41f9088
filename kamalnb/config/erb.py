"""The part of ERB that deploy.yml files use: reading environment variables.

Supported, with ERB's `-` trim mode as Kamal renders it:

    <%= ENV["NAME"] %>              value, or nothing when unset
    <%= ENV["NAME"] || "dflt" %>    value, or the default when unset
    <%= ENV.fetch("NAME") %>        value; an error when unset
    <%= ENV.fetch("NAME", "dflt") %>  value, or the default when unset
    <%# comment %>                  nothing
    <%%                             a literal "<%"

Any other Ruby is refused with an error naming the file and line, rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kamalnb.errors import ConfigError

_STRING = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
_ENV_INDEX = re.compile(rf"\AENV\s*\[\s*(?P<name>{_STRING})\s*\](?:\s*\|\|\s*(?P<default>{_STRING}))?\Z")
_ENV_FETCH = re.compile(
    rf"\AENV\.fetch\s*\(\s*(?P<name>{_STRING})\s*(?:,\s*(?P<default>{_STRING}|nil)\s*)?\)\Z"
)

SUPPORTED = '<%= ENV["NAME"] %>, <%= ENV.fetch("NAME") %> and <%= ENV.fetch("NAME", "default") %>'


def _ruby_string(literal: str) -> str:
    quote, body = literal[0], literal[1:-1]
    if quote == "'":
        return re.sub(r"\\([\\'])", r"\1", body)
    escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "s": " ", "e": "\x1b"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)


def _evaluate(code: str, env: Mapping[str, str], where: str) -> str:
    code = code.strip()
    match = _ENV_INDEX.match(code)
    if match:
        default = _ruby_string(match["default"]) if match["default"] else ""
        return env.get(_ruby_string(match["name"]), default)
    match = _ENV_FETCH.match(code)
    if match:
        name = _ruby_string(match["name"])
        if name in env:
            return env[name]
        default = match["default"]
        if default is None:
            raise ConfigError(
                f'{where}: ENV.fetch("{name}") failed: the environment variable {name} is not set '
                f'(set it, or give a default: ENV.fetch("{name}", "value"))'
            )
        return "" if default == "nil" else _ruby_string(default)
    raise ConfigError(f"{where}: unsupported ERB `<%= {code} %>`; kamalnb understands {SUPPORTED}")


def render(template: str, env: Mapping[str, str], filename: str) -> str:
    """Render the ERB tags of `template`; `filename` is used in error messages."""
    out: list[str] = []
    position = 0
    while True:
        start = template.find("<%", position)
        if start < 0:
            out.append(template[position:])
            return "".join(out)
        text = template[position:start]
        where = f"{filename}:{template.count(chr(10), 0, start) + 1}"
        if template.startswith("<%%", start):
            out.append(text + "<%")
            position = start + 3
            continue
        end = template.find("%>", start + 2)
        if end < 0:
            raise ConfigError(f"{where}: ERB tag `<%` is never closed with `%>`")
        body = template[start + 2:end]
        position = end + 2
        if body.startswith("-"):
            line_start = text.rfind("\n") + 1
            if text[line_start:].strip(" \t") == "":
                text = text[:line_start]
            body = body[1:]
        out.append(text)
        if body.endswith("-"):
            body = body[:-1]
            if template.startswith("\n", position):
                position += 1
        if body.startswith("#"):
            continue
        if not body.startswith("="):
            raise ConfigError(
                f"{where}: unsupported ERB `<%{template[start + 2:end]}%>`: "
                f"only output tags are understood ({SUPPORTED})"
            )
        out.append(_evaluate(body[1:], env, where))
