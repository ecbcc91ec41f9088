"""`kamalnb config`: the resolved configuration as the YAML `kamal config` prints.

Kamal dumps a Ruby hash with symbol keys (`:roles:`), symbols as values (`:fatal`) and the
jump-host objects of net-ssh; the same keys, values and tags are produced here so that
both outputs parse to the same data. Secret values print as [REDACTED].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from kamalnb.config.ssh import SshJump, SshProxyCommand
from kamalnb.sensitive import REDACTED, Secret

if TYPE_CHECKING:
    from kamalnb.config.configuration import Configuration


class Symbol(str):
    """A Ruby symbol: printed with a leading colon."""


def _ssh_options(config: Configuration) -> dict[Any, Any]:
    ssh = config.ssh
    options: dict[Any, Any] = {Symbol("user"): ssh.user, Symbol("port"): ssh.ssh_config.get("port", 22)}
    if ssh.proxy is not None:
        options[Symbol("proxy")] = ssh.proxy
    options[Symbol("keepalive")] = True
    options[Symbol("keepalive_interval")] = 30
    for key in ("keys_only", "keys"):
        if ssh.ssh_config.get(key) is not None:
            options[Symbol(key)] = ssh.ssh_config[key]
    if ssh.ssh_config.get("key_data") is not None:
        options[Symbol("key_data")] = [REDACTED for _ in ssh.ssh_config["key_data"]]
    for key in ("config", "forward_agent"):
        if ssh.ssh_config.get(key) is not None:
            options[Symbol(key)] = ssh.ssh_config[key]
    level = ssh.ssh_config.get("log_level")
    options[Symbol("log_level")] = Symbol("fatal") if level is None else level
    return options


def config_hash(config: Configuration) -> dict[Any, Any]:
    """Kamal's `Configuration#to_h`, keys as symbols, nil values dropped."""
    servers = config.raw_config.get("servers")
    role_names = ["web"] if isinstance(servers, list) else sorted(str(name) for name in (servers or {}))
    values: dict[str, Any] = {
        "roles": role_names,
        "hosts": config.all_hosts,
        "primary_host": config.primary_host,
        "version": config.version,
        "repository": config.repository,
        "absolute_image": config.absolute_image,
        "service_with_version": config.service_with_version,
        "volume_args": config.volume_args,
        "ssh_options": _ssh_options(config),
        "sshkit": config.sshkit.to_h(),
        "builder": config.builder.to_h(),
        "accessories": config.raw_config.get("accessories"),
        "logging": config.logging_args,
    }
    return {Symbol(key): value for key, value in values.items() if value is not None}


class _Dumper(yaml.SafeDumper):
    pass


def _symbol(dumper: yaml.SafeDumper, value: Symbol) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", f":{value}")


def _secret(dumper: yaml.SafeDumper, value: Secret) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", REDACTED)


def _jump(dumper: yaml.SafeDumper, value: SshJump) -> yaml.Node:
    return dumper.represent_mapping("!ruby/object:Net::SSH::Proxy::Jump", {"jump_proxies": value.jump_proxies})


def _command(dumper: yaml.SafeDumper, value: SshProxyCommand) -> yaml.Node:
    return dumper.represent_mapping(
        "!ruby/object:Net::SSH::Proxy::Command",
        {"command_line_template": value.command_line_template, "command_line": None, "timeout": 60},
    )


_Dumper.add_representer(Symbol, _symbol)
_Dumper.add_representer(Secret, _secret)
_Dumper.add_representer(SshJump, _jump)
_Dumper.add_representer(SshProxyCommand, _command)


def dump(config: Configuration) -> str:
    """The YAML document `kamal config` prints for this configuration."""
    return yaml.dump(config_hash(config), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     explicit_start=True, allow_unicode=True)
