"""The command type every builder returns and every executor runs.

A command is a sequence of shell words, each already quoted the way Kamal quotes it, so
that `str(command)` is exactly the line Kamal would send for the same configuration.
Words may be `Secret`s: the display shows [REDACTED], only `render()` reveals them.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kamalnb.sensitive import REDACTED, Secret, reveal

Word = "str | Secret"


@dataclass(frozen=True)
class Command:
    words: tuple[str | Secret, ...]
    # bytes: a stream's content (a build context's tar), never shown.
    stdin: str | Secret | bytes | None = None
    # Its output is a secret (a private key): returned to the caller, never shown as lines.
    private_output: bool = False

    @classmethod
    def from_argv(cls, argv: Iterable[str], stdin: str | Secret | None = None) -> Command:
        """A command whose words are plain arguments, quoted so the remote side gets them intact."""
        return cls(tuple(shlex.quote(arg) for arg in argv), stdin)

    def render(self) -> str:
        """The line sent to the shell, secrets revealed. Never print it."""
        return " ".join(reveal(word) for word in self.words)

    def __str__(self) -> str:
        return " ".join(str(word) for word in self.words)


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request to `address:port` as seen from a host (its loopback, a container),
    sent through the SSH connection; shown as `METHOD http://address:port/path`."""

    method: str
    address: str
    port: int
    path: str
    timeout: float = 10.0

    def __str__(self) -> str:
        return f"{self.method} http://{self.address}:{self.port}{self.path}"


class Sensitive(Secret):
    """A secret word whose display keeps its non-secret part, like Kamal's `sensitive(redaction:)`.

    `--build-arg TOKEN="abc"` shows as `TOKEN=[REDACTED]`, so logs still say which argument was sent.
    """

    __slots__ = ("_redaction",)

    def __init__(self, value: str, redaction: str = REDACTED) -> None:
        super().__init__(value)
        self._redaction = redaction

    def __repr__(self) -> str:
        return self._redaction

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return self._redaction


def flatten(*parts: object) -> tuple[str | Secret, ...]:
    """Words of nested commands, word lists and single words, in order; `None` is dropped.

    Kamal builds commands as nested arrays that `join(" ")` flattens; this is the same walk.
    """
    words: list[str | Secret] = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, Command):
            words.extend(part.words)
        elif isinstance(part, (str, Secret)):
            words.append(part)
        elif isinstance(part, (int, float)) and not isinstance(part, bool):
            words.append(str(part))
        else:
            words.extend(flatten(*part))  # type: ignore[misc]
    return tuple(words)


def command(*parts: object) -> Command:
    """A command from words and word lists, `None`s dropped."""
    return Command(flatten(*parts))


def _stdin_of(parts: tuple[object, ...]) -> str | Secret | bytes | None:
    inputs = [part.stdin for part in parts if isinstance(part, Command) and part.stdin is not None]
    if len(inputs) > 1:
        raise ValueError("only one command of a combination can take stdin")
    return inputs[0] if inputs else None


def combine(*parts: object, by: str = "&&") -> Command:
    """Commands joined by a shell operator (`&&` unless `by` says otherwise); `None`s are skipped."""
    present = tuple(part for part in parts if part is not None)
    words: list[str | Secret] = []
    for index, part in enumerate(present):
        if index:
            words.append(by)
        words.extend(flatten(part))
    return Command(tuple(words), _stdin_of(present))


def chain(*parts: object) -> Command:
    return combine(*parts, by=";")


def pipe(*parts: object) -> Command:
    return combine(*parts, by="|")


def append(*parts: object) -> Command:
    return combine(*parts, by=">>")


def write(*parts: object) -> Command:
    return combine(*parts, by=">")


def any_of(*parts: object) -> Command:
    return combine(*parts, by="||")


def _single_quote_body(words: Iterable[str]) -> str:
    return "'" + " ".join(words).replace("'", "'\\''") + "'"


def single_quoted(*parts: object) -> str | Secret:
    """The words joined and wrapped in single quotes, as Kamal wraps `sh -c` and `ssh` payloads.

    A payload holding a secret stays a secret; its display redacts only the secret words.
    """
    words = flatten(*parts)
    shown = _single_quote_body(str(word) for word in words)
    if not any(isinstance(word, Secret) for word in words):
        return shown
    return Sensitive(_single_quote_body(reveal(word) for word in words), redaction=shown)


def shell(*parts: object) -> Command:
    """`sh -c '<words>'`, single quotes inside escaped as `'\\''`."""
    return Command(("sh", "-c", single_quoted(*parts)))


def xargs(*parts: object) -> Command:
    return command("xargs", *parts)


def docker(*args: object) -> Command:
    return command("docker", *args)


_DOLLAR_WITHOUT_EXPANSION = re.compile(r"\$(?!\{[^}]*\})")
_ASCII_OR_NOT = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")
_DUMP_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\f": "\\f",
    "\v": "\\v",
    "\b": "\\b",
    "\a": "\\a",
    "\x1b": "\\e",
}


_DUMP_SPECIAL = re.compile(r'[\x00-\x1f\x7f"\\]|#(?=[{$@])')


def _dump_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _DUMP_ESCAPES:
        return _DUMP_ESCAPES[char]
    return "\\#" if char == "#" else f"\\x{ord(char):02X}"


def _ruby_dump(text: str) -> str:
    """Ruby's `String#dump` of an ASCII string: double-quoted, escapes as Ruby writes them."""
    return f'"{_DUMP_SPECIAL.sub(_dump_char, text)}"'


def ruby_to_s(value: object) -> str:
    """A value as Ruby's `to_s` prints it (YAML booleans are `true`/`false`, nil is empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Secret):
        return value.reveal()
    return str(value)


def escape_shell_value(value: object) -> str:
    """A value double-quoted for the remote shell exactly as Kamal quotes it.

    `"`, `\\`, backticks and `$` are escaped, but `${NAME}` is left for the remote shell to
    expand; non-ASCII runs stay raw, outside the quotes (`"abc "中文`).
    """
    parts = _ASCII_OR_NOT.findall(ruby_to_s(value))
    return "".join(
        _DOLLAR_WITHOUT_EXPANSION.sub(r"\\$", _ruby_dump(part).replace("`", "\\`")) if part.isascii() else part
        for part in parts
    )


def grep_pattern(pattern: str, quote: str = "'") -> str:
    """A grep pattern as Kamal writes it, in single (or double) quotes, but with the quotes
    it contains escaped, so that a pattern never ends its quoting and runs as commands."""
    if quote == "'":
        return "'" + pattern.replace("'", "'\\''") + "'"
    return escape_shell_value(pattern)


def is_blank(value: object) -> bool:
    """Ruby's `blank?`: nil, false, empty or whitespace-only strings, empty collections."""
    if value is None or value is False:
        return True
    if isinstance(value, Secret):
        return is_blank(value.reveal())
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (list, tuple, dict, set)):
        return len(value) == 0
    return False


def _pairs(attributes: object) -> list[tuple[object, object]]:
    if attributes is None:
        return []
    if isinstance(attributes, Mapping):
        return list(attributes.items())
    if isinstance(attributes, (str, Secret)) or not isinstance(attributes, Iterable):
        return [(attributes, None)]
    pairs: list[tuple[object, object]] = []
    for item in attributes:
        if isinstance(item, (list, tuple)):
            pairs.append((item[0], item[1] if len(item) > 1 else None))
        else:
            pairs.append((item, None))
    return pairs


def argumentize(argument: str, attributes: object, sensitive: bool = False) -> tuple[str | Secret, ...]:
    """`argument key="value"` per attribute, as Kamal's `argumentize`.

    A blank value gives a bare `key` (for `--env` that means "copy KEY from the remote shell's
    environment"), `False` gives `key=false`; a bare string or a list of strings gives one
    `argument word` each, unquoted. Secret values, or all values when `sensitive`, are
    redacted in the display as `key=[REDACTED]`.
    """
    words: list[str | Secret] = []
    for key, value in _pairs(attributes):
        name = ruby_to_s(key)
        if not is_blank(value):
            text = f"{name}={escape_shell_value(value)}"
            if sensitive or isinstance(value, Secret):
                words.extend((argument, Sensitive(text, redaction=f"{name}={REDACTED}")))
            else:
                words.extend((argument, text))
        elif value is False:
            words.extend((argument, f"{name}=false"))
        else:
            words.extend((argument, name))
    return tuple(words)


def optionize(options: Mapping[str, object], with_: str | None = None, escape: bool = True) -> tuple[str, ...]:
    """Docker options from a mapping, as Kamal's `optionize`.

    `True` gives a bare `--flag`; a list repeats the flag once per entry; other values give
    `--key "value"` (or `--key<with_>"value"` when `with_` is given, e.g. `=`).
    """
    words: list[str] = []
    for key, value in options.items():
        entries = value if isinstance(value, (list, tuple)) else [value]
        for entry in entries:
            shown = escape_shell_value(entry) if escape else ruby_to_s(entry)
            if with_ is not None:
                words.append(f"--{key}" if entry is True else f"--{key}{with_}{shown}")
            else:
                words.append(f"--{key}")
                if entry is not True:
                    words.append(shown)
    return tuple(words)


@dataclass(frozen=True)
class Upload:
    """A file to write on a host: where, what (secrets stay `Secret`), and its mode."""

    path: str
    content: str | Secret
    mode: int = 0o644


def make_directory(path: str) -> Command:
    return command("mkdir", "-p", path)


def make_directory_for(remote_file: str) -> Command:
    """`mkdir -p` of the file's parent directory."""
    return make_directory(posixpath.dirname(remote_file) or ".")


def remove_directory(path: str) -> Command:
    return command("rm", "-r", path)


def remove_file(path: str) -> Command:
    return command("rm", path)


def container_id_for(container_name: str, only_running: bool = False) -> Command:
    """The container's short ID by exact name (empty output when there is none)."""
    return docker(
        "container", "ls", None if only_running else "--all", "--filter", f"'name=^{container_name}$'", "--quiet"
    )


def interactive_flag(tty: bool) -> str:
    """`-it` when the local stdin is a terminal, `-i` when input is piped."""
    return "-it" if tty else "-i"


def run_over_ssh(ssh: Any, host: str, *parts: object) -> Command:
    """`ssh … -t user@host -p port '<command>'`, run locally for interactive sessions and followed logs.

    Options come from `ssh:` in Kamal's order: config files, jump host or proxy command, keys,
    IdentitiesOnly.
    """
    words: list[str | Secret] = ["ssh"]
    if isinstance(ssh.config, (list, tuple)):
        words += [word for file in ssh.config for word in ("-F", str(file))]
    elif isinstance(ssh.config, str):
        words += ["-F", ssh.config]
    elif ssh.config is False:
        words += ["-F", "/dev/null"]
    proxy = ssh.proxy
    if proxy is not None and hasattr(proxy, "jump_proxies"):
        words += ["-J", proxy.jump_proxies]
    elif proxy is not None:
        words += ["-o", f"ProxyCommand='{proxy.command_line_template}'"]
    words += [word for key in ssh.keys or [] for word in ("-i", key)]
    if ssh.keys_only:
        words += ["-o", "IdentitiesOnly=yes"]
    words += ["-t", f"{ssh.user}@{host}", "-p", str(ssh.port), single_quoted(*parts)]
    return Command(tuple(words))
