"""How to reach the hosts: Kamal's `ssh:` settings, plus kamalnb's own connection limits.

Field names follow Kamal's `ssh:` keys, so `SshSettings(**deploy_yml["ssh"])` works for
every key Kamal documents. This module imports nothing network-related: the configuration
layer builds `SshSettings` without pulling in paramiko.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.sensitive import Secret

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


def _strings(value: object, key: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, Secret)):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    raise ConfigError(f"ssh.{key} must be a list, got {value!r}")


@dataclass(frozen=True)
class SshSettings:
    """Kamal's `ssh:` section.

    user, port          login user (Kamal's default: root) and port (22)
    proxy               jump host, `host` or `user@host[:port]`; without a user it is root,
                        as in Kamal
    proxy_command       a command whose stdin/stdout is the connection (`%h`, `%p` expanded)
    keys                private key files to offer
    keys_only           offer only `keys` and `key_data`: no ssh-agent, no ~/.ssh/id_* files
    key_data            private keys as PEM text (resolved from secrets by the config layer)
    config              true: read ~/.ssh/config and /etc/ssh/ssh_config; false: none;
                        a path or a list of paths: read those
    log_level           paramiko's log level: debug, info, warn, error or fatal (Kamal's default)
    forward_agent       forward the local ssh-agent to commands

    kamalnb's own settings (under `x-kamalnb: {ssh: ...}` in deploy.yml):

    connect_timeout     seconds to wait for TCP connect, banner and authentication; None:
                        ConnectTimeout from the ssh config, else 30. Also how long an open
                        connection may get no answer at all from its host (link down,
                        host off) before every command on it fails
    keepalive_interval  seconds between keepalives on an idle connection (Kamal: 30)
    known_hosts         known_hosts files; empty means UserKnownHostsFile from the ssh config,
                        else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts
    trust_on_first_use  record the key of a host seen for the first time instead of refusing
                        it (a changed key is refused regardless)
    dns_retries         retries of a failed name lookup (sshkit's `dns_retries`, 3)
    """

    user: str | None = "root"
    port: int | None = 22
    proxy: str | None = None
    proxy_command: str | None = None
    keys: tuple[str, ...] = ()
    keys_only: bool = False
    key_data: tuple[str | Secret, ...] = ()
    config: bool | str | tuple[str, ...] = True
    log_level: str = "fatal"
    forward_agent: bool = False
    connect_timeout: float | None = None
    keepalive_interval: int = 30
    known_hosts: tuple[str, ...] = ()
    trust_on_first_use: bool = False
    dns_retries: int = 3

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "keys", tuple(str(key) for key in _strings(self.keys, "keys")))
        set_(self, "key_data", _strings(self.key_data, "key_data"))
        set_(self, "known_hosts", tuple(str(path) for path in _strings(self.known_hosts, "known_hosts")))
        if self.config is None:
            set_(self, "config", True)
        elif not isinstance(self.config, (bool, str)):
            set_(self, "config", tuple(str(path) for path in _strings(self.config, "config")))
        if self.port is not None and (
                isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536):
            raise ConfigError(f"ssh.port must be a port number (1-65535), got {self.port!r}")
        level = str(self.log_level).lower()
        if level not in LOG_LEVELS:
            raise ConfigError(f"ssh.log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        set_(self, "log_level", level)
        if self.proxy is not None and self.proxy_command is not None:
            raise ConfigError("ssh.proxy and ssh.proxy_command cannot both be set: keep one")
        timeout = self.connect_timeout
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ConfigError(f"x-kamalnb/ssh/connect_timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(self.trust_on_first_use, bool):
            raise ConfigError(
                f"x-kamalnb/ssh/trust_on_first_use must be true or false, got {self.trust_on_first_use!r}")


KAMALNB_SSH_KEYS = ("connect_timeout", "known_hosts", "trust_on_first_use")


def settings_from_config(config: Any) -> SshSettings:
    """`SshSettings` from a loaded configuration: Kamal's `ssh:` and `sshkit:` sections, plus
    `x-kamalnb: {ssh: {connect_timeout, known_hosts, trust_on_first_use}}`."""
    ssh = config.ssh
    extra = (config.kamalnb or {}).get("ssh") or {}
    if not isinstance(extra, dict):
        raise ConfigError("x-kamalnb/ssh: should be a hash")
    unknown = sorted(set(extra) - set(KAMALNB_SSH_KEYS))
    if unknown:
        raise ConfigError(f"x-kamalnb/ssh: unknown key: {unknown[0]} (known: {', '.join(KAMALNB_SSH_KEYS)})")
    proxy = ssh.proxy
    return SshSettings(
        user=ssh.user,
        port=ssh.port,
        proxy=getattr(proxy, "jump_proxies", None),
        proxy_command=getattr(proxy, "command_line_template", None),
        keys=tuple(ssh.keys or ()),
        keys_only=bool(ssh.keys_only),
        key_data=tuple(ssh.key_data or ()),
        config=True if ssh.config is None else ssh.config,
        log_level=ssh.log_level,
        forward_agent=bool(ssh.forward_agent),
        dns_retries=config.sshkit.dns_retries,
        **extra,
    )
