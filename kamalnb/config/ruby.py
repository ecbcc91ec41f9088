"""Small Ruby behaviours Kamal's configuration relies on, reproduced exactly.

Kamal is Ruby: `present?`, `deep_merge`, `to_s` of YAML values, `String#dump` quoting and
`Gem::Version` comparison all leak into names, messages and command lines. Keeping them in
one place makes the rest of the package read like plain Python.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kamalnb.sensitive import Secret


def to_s(value: Any) -> str:
    """Ruby's `to_s` for a value read from YAML."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Secret):
        return str(value)
    return str(value)


def inspect(value: Any) -> str:
    """Ruby's `String#inspect` (non-ASCII characters are kept as they are)."""
    parts = re.findall(r"[\x00-\x7F]+|[^\x00-\x7F]+", to_s(value))
    return '"' + "".join(dump_ascii(part) if part.isascii() else part for part in parts) + '"'


def either(value: Any, default: Any) -> Any:
    """Ruby's `value || default`: only nil and false fall through (0 and "" do not)."""
    return default if value is None or value is False else value


def present(value: Any) -> bool:
    """Ruby's `present?`: not nil, not false, not empty, not only whitespace."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (list, tuple, dict, set)):
        return len(value) > 0
    if isinstance(value, Secret):
        return present(value.reveal())
    return True


def deep_merge(base: Mapping[Any, Any], other: Mapping[Any, Any]) -> dict[Any, Any]:
    """ActiveSupport's `deep_merge`: nested hashes merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in other.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def dump_ascii(value: str) -> str:
    """Ruby `String#dump` of an ASCII string, without the surrounding quotes."""
    out = []
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\x1b":
            out.append("\\e")
        elif ch == "#":
            out.append("#")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02X}")
        else:
            out.append(ch)
    dumped = "".join(out)
    # String#dump escapes "#" only where it would start an interpolation.
    return re.sub(r"#(?=[{$@])", r"\\#", dumped)


_ASCII_RUNS = re.compile(r"[\x00-\x7F]+|[^\x00-\x7F]+")
_DOLLAR_WITHOUT_SHELL_EXPANSION = re.compile(r"\$(?!\{[^}]*\})")


def escape_shell_value(value: Any) -> str:
    """Kamal's `escape_shell_value`: double-quoted, with `${NAME}` left for the remote shell."""
    parts = []
    for part in _ASCII_RUNS.findall(to_s(value)):
        if part.isascii():
            dumped = '"' + dump_ascii(part) + '"'
            dumped = dumped.replace("`", "\\`")
            dumped = _DOLLAR_WITHOUT_SHELL_EXPANSION.sub(r"\\$", dumped)
            parts.append(dumped)
        else:
            parts.append(part)
    return "".join(parts)


def argumentize(argument: str, attributes: Any) -> list[str]:
    """Kamal's `argumentize` for non-sensitive values: `[arg, "key=\"value\""]` pairs."""
    if attributes is None:
        return []
    items: Iterable[Any] = attributes.items() if isinstance(attributes, Mapping) else (
        attributes if isinstance(attributes, (list, tuple)) else [attributes]
    )
    args: list[str] = []
    for item in items:
        if isinstance(item, tuple):
            key, value = item
        else:
            key, value = item, None
        if present(value):
            args += [argument, f"{to_s(key)}={escape_shell_value(value)}"]
        elif value is False:
            args += [argument, f"{to_s(key)}=false"]
        else:
            args += [argument, to_s(key)]
    return args


def flatten_args(args: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    flat: list[tuple[Any, Any]] = []
    for key, value in args.items():
        if isinstance(value, (list, tuple)):
            flat += [(key, entry) for entry in value]
        else:
            flat.append((key, value))
    return flat


def optionize(args: Mapping[Any, Any], with_: str | None = None) -> list[str]:
    """Kamal's `optionize`: `--key "value"`, bare `--key` for true, repeated for lists."""
    options: list[str] = []
    for key, value in flatten_args(args):
        if with_ is not None:
            options.append(f"--{to_s(key)}" if value is True else f"--{to_s(key)}{with_}{escape_shell_value(value)}")
        else:
            options.append(f"--{to_s(key)}")
            if value is not True:
                options.append(escape_shell_value(value))
    return options


def _version_segments(version: str) -> list[int | str]:
    segments: list[int | str] = []
    for part in re.findall(r"[0-9]+|[a-z]+", version.strip().lower()):
        segments.append(int(part) if part.isdigit() else part)
    while len(segments) > 1 and segments[-1] == 0:
        segments.pop()
    return segments


def version_greater(left: str, right: str) -> bool:
    """`Gem::Version.new(left) > Gem::Version.new(right)` for release versions."""
    a, b = _version_segments(left), _version_segments(right)
    for index in range(max(len(a), len(b))):
        x = a[index] if index < len(a) else 0
        y = b[index] if index < len(b) else 0
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, str):
            return x > y
        if isinstance(x, str):
            return False
        if isinstance(y, str):
            return True
        return x > y
    return False


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end():]
    expanded: list[str] = []
    for choice in match.group(1).split(","):
        expanded += _expand_braces(head + choice + tail)
    return expanded


def fnmatch_extglob(pattern: str, name: str) -> bool:
    """Ruby `File.fnmatch(pattern, name, File::FNM_EXTGLOB)`: `*`, `?`, `[...]`, `{a,b}`."""
    for candidate in _expand_braces(pattern):
        regex = []
        index = 0
        while index < len(candidate):
            ch = candidate[index]
            if ch == "*":
                regex.append(".*")
            elif ch == "?":
                regex.append(".")
            elif ch == "[":
                close = candidate.find("]", index + 1)
                if close < 0:
                    regex.append(re.escape(ch))
                else:
                    body = candidate[index + 1:close]
                    if body.startswith("!"):
                        body = "^" + body[1:]
                    regex.append("[" + body.replace("\\", "\\\\") + "]")
                    index = close
            elif ch == "\\" and index + 1 < len(candidate):
                index += 1
                regex.append(re.escape(candidate[index]))
            else:
                regex.append(re.escape(ch))
            index += 1
        if re.fullmatch("".join(regex), name, re.S):
            return True
    return False


def shellescape(value: str) -> str:
    """Ruby's `Shellwords.escape`."""
    if value == "":
        return "''"
    escaped = re.sub(r"([^A-Za-z0-9_\-.,:+/@\n])", r"\\\1", value)
    return escaped.replace("\n", "'\n'")
