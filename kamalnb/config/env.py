"""Environment variables: clear values on the command line, secrets in an env file."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import argumentize, dump_ascii, to_s
from kamalnb.config.validator import EnvValidator, validate
from kamalnb.sensitive import Secret

if TYPE_CHECKING:
    from kamalnb.secrets.store import Secrets


class Env(Frozen):
    """One `env:` section (root, role, accessory or tag), or several merged.

    `clear` maps names to values as written; `secret_keys` lists `NAME` or
    `NAME:SECRET_NAME` entries looked up in the secrets files.
    """

    def __init__(self, config: dict[str, Any], secrets: Secrets, context: str = "env",
                 validate_config: bool = True) -> None:
        if validate_config:
            validate(config, schema.ENV, context, EnvValidator)
        if "clear" in config:
            clear = config["clear"]
        elif "secret" in config or "tags" in config:
            clear = {}
        else:
            clear = config
        self.clear: dict[str, Any] = dict(clear or {})
        self.secret_keys: list[str] = [to_s(key) for key in config.get("secret", []) or []]
        self.secrets = secrets
        self.context = context
        self._freeze()

    @property
    def clear_args(self) -> list[str]:
        """`--env NAME="value"` pairs, quoted as Kamal quotes them."""
        return argumentize("--env", self.clear)

    def merge(self, other: Env) -> Env:
        secret_keys = list(self.secret_keys)
        secret_keys += [key for key in other.secret_keys if key not in secret_keys]
        return Env({"clear": {**self.clear, **other.clear}, "secret": secret_keys}, self.secrets, validate_config=False)

    @property
    def secret_names(self) -> dict[str, str]:
        """Env var name -> secret name, after `NAME:SECRET_NAME` aliasing."""
        names: dict[str, str] = {}
        for key in self.secret_keys:
            name, _, alias = key.partition(":")
            names[name] = alias or name
        return names

    @property
    def secret_values(self) -> dict[str, Secret]:
        """Env var name -> value from the secrets files (reads them on first use)."""
        return {name: self.secrets[secret] for name, secret in self.secret_names.items()}

    def env_file(self) -> Secret:
        """The env file Kamal uploads (`KEY=value` lines escaped for Docker), as a Secret."""
        return Secret(env_file_content({name: value.reveal() for name, value in self.secret_values.items()}))

    def to_h(self) -> dict[str, Any]:
        return {**self.clear, **self.secret_values}

    def __repr__(self) -> str:
        return f"Env(clear={sorted(self.clear)}, secret={self.secret_keys})"


def _escape_env_file_value(value: str) -> str:
    parts = []
    for part in re.findall(r"[\x00-\x7F]+|[^\x00-\x7F]+", value):
        if part.isascii():
            parts.append(dump_ascii(part).replace('\\"', '"').replace("\\#", "#"))
        else:
            parts.append(part)
    return "".join(parts)


def env_file_content(values: dict[str, str]) -> str:
    """Kamal's EnvFile: one `KEY=value` line per entry; an empty env is a single newline."""
    content = "".join(f"{key}={_escape_env_file_value(to_s(value))}\n" for key, value in values.items())
    return content or "\n"


class EnvTag(Frozen):
    """`env.tags.<name>`: extra env for hosts carrying that tag."""

    def __init__(self, name: str, config: dict[str, Any], secrets: Secrets) -> None:
        self.name = name
        self.config = config
        self.secrets = secrets
        self._freeze()

    @property
    def env(self) -> Env:
        return Env(self.config, self.secrets, validate_config=False)
