"""Kamal's deploy.yml as a read-only object model.

    from kamalnb.config import load
    config = load("config/deploy.yml", destination="staging")
    config.absolute_image            # "ghcr.io/dhh/app:<version>"
    config.role("web").container_name()

Names follow Kamal's Ruby classes in snake_case (`Configuration`, `Role`, `Env`, `Proxy`,
`Registry`, `Builder`, `Accessory`, `Ssh`, `Sshkit`, `Boot`, `Logging`, `Servers`,
`Volume`); predicates drop Ruby's `?` (`running_proxy`, `ssl`, `local`).
"""

from kamalnb.config.accessory import Accessory, AccessoryPath
from kamalnb.config.alias import Alias
from kamalnb.config.base import NETWORK
from kamalnb.config.boot import Boot
from kamalnb.config.builder import Builder
from kamalnb.config.configuration import KAMAL_VERSION, Configuration, Servers
from kamalnb.config.env import Env, EnvTag, env_file_content
from kamalnb.config.loader import load
from kamalnb.config.logging import Logging
from kamalnb.config.output import Output
from kamalnb.config.proxy import Proxy, ProxyBoot, ProxyRun
from kamalnb.config.registry import Registry
from kamalnb.config.role import Role
from kamalnb.config.specifics import Specifics
from kamalnb.config.ssh import Ssh, SshJump, SshProxyCommand
from kamalnb.config.sshkit import Sshkit
from kamalnb.config.volume import Volume

Config = Configuration

__all__ = [
    "KAMAL_VERSION", "NETWORK", "Accessory", "AccessoryPath", "Alias", "Boot", "Builder", "Config", "Configuration",
    "Env", "EnvTag", "Logging", "Output", "Proxy", "ProxyBoot", "ProxyRun", "Registry", "Role", "Servers", "Specifics",
    "Ssh", "SshJump", "SshProxyCommand", "Sshkit", "Volume", "env_file_content", "load",
]
