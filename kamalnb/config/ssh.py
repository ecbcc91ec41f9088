"""`ssh:`: how to reach the hosts (user, port, keys, jump host, OpenSSH config)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import to_s
from kamalnb.config.validator import validate
from kamalnb.errors import ConfigError
from kamalnb.sensitive import Secret

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal", "unknown")

if TYPE_CHECKING:
    from kamalnb.secrets.store import Secrets


def _log_level(level: Any) -> str:
    if isinstance(level, int) and not isinstance(level, bool):
        return str(level)
    name = to_s(level).lstrip(":")
    if name.lower() not in LOG_LEVELS:
        raise ConfigError(f"invalid log level: {name}")
    return name


@dataclass(frozen=True)
class SshJump:
    """`ssh.proxy`: a jump host, `user@host[:port]` (the user defaults to root)."""

    jump_proxies: str


@dataclass(frozen=True)
class SshProxyCommand:
    """`ssh.proxy_command`: an OpenSSH ProxyCommand template (`%h`, `%p`)."""

    command_line_template: str


class Ssh(Frozen):
    def __init__(self, ssh_config: dict[str, Any] | None, secrets: Secrets) -> None:
        self.ssh_config: dict[str, Any] = ssh_config or {}
        self.secrets = secrets
        validate(self.ssh_config, schema.SSH, "ssh")
        # Kamal fails on an unknown level when it first builds its SSH logger (any command).
        _log_level(self.ssh_config.get("log_level", "fatal"))
        self._freeze()

    @property
    def user(self) -> str:
        return to_s(self.ssh_config.get("user", "root"))

    @property
    def port(self) -> int:
        return int(self.ssh_config.get("port", 22))

    @property
    def proxy(self) -> SshJump | SshProxyCommand | None:
        proxy = self.ssh_config.get("proxy")
        if proxy:
            proxy = to_s(proxy)
            return SshJump(proxy if "@" in proxy else f"root@{proxy}")
        command = self.ssh_config.get("proxy_command")
        if command:
            return SshProxyCommand(to_s(command))
        return None

    @property
    def keys_only(self) -> bool | None:
        return self.ssh_config.get("keys_only")

    @property
    def keys(self) -> list[str] | None:
        keys = self.ssh_config.get("keys")
        return None if keys is None else [str(key) for key in keys]

    @property
    def key_data(self) -> list[Secret] | None:
        """Private keys from the secrets named in `key_data` (inline PEM is deprecated but read)."""
        names = self.ssh_config.get("key_data")
        if names is None:
            return None
        keys = []
        for name in names:
            if str(name) in self.secrets:
                keys.append(self.secrets[str(name)])
            else:
                warnings.warn(
                    "Inline key_data usage is deprecated and will be removed in Kamal 3. "
                    "Please store your key_data in a secret.",
                    UserWarning,
                    stacklevel=2,
                )
                keys.append(Secret(str(name)))
        return keys

    @property
    def config(self) -> bool | str | list[str] | None:
        """True/None: the default OpenSSH config; False: none; paths: these files."""
        return self.ssh_config.get("config")

    @property
    def forward_agent(self) -> bool | None:
        return self.ssh_config.get("forward_agent")

    @property
    def log_level(self) -> str:
        """net-ssh's logger level: debug, info, warn, error, fatal (default) or unknown."""
        return _log_level(self.ssh_config.get("log_level", "fatal"))

    @property
    def keepalive(self) -> bool:
        return True

    @property
    def keepalive_interval(self) -> int:
        return 30

    def __repr__(self) -> str:
        return f"Ssh(user={self.user!r}, port={self.port})"
