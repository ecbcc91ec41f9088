"""A role (`servers.<name>`): its hosts, container names, labels, env, proxy and options."""

from __future__ import annotations

import functools
import posixpath
from typing import TYPE_CHECKING, Any

from kamalnb.config import schema
from kamalnb.config.base import DockerOptions, Frozen
from kamalnb.config.env import Env, EnvTag
from kamalnb.config.logging import Logging
from kamalnb.config.proxy import Proxy
from kamalnb.config.ruby import argumentize, either, present, to_s
from kamalnb.config.validator import RoleValidator, validate
from kamalnb.config.volume import Volume
from kamalnb.errors import ConfigError

if TYPE_CHECKING:
    from kamalnb.config.configuration import Configuration


class Role(DockerOptions, Frozen):
    def __init__(self, name: str, config: Configuration) -> None:
        self.name = name
        self.config = config
        servers: Any = config.raw_config.get("servers")
        self.role_config: Any = {} if isinstance(servers, list) else servers[name]
        validate(self.role_config, schema.ROLE, f"servers/{name}", RoleValidator)
        self.specializations: dict[str, Any] = {} if isinstance(self.role_config, list) else self.role_config
        self.specialized_env = Env(self.specializations.get("env", {}), config.secrets, context=f"servers/{name}/env")
        self.specialized_logging = Logging(self.specializations.get("logging", {}), context=f"servers/{name}/logging")
        proxy_setting = self.specializations.get("proxy")
        if self.primary:
            # Only `proxy: false` keeps the primary role away from the proxy.
            self.running_proxy: bool = proxy_setting is not False
        else:
            self.running_proxy = bool(proxy_setting)
        self.specialized_proxy: Proxy | None = None
        if self.running_proxy:
            role_proxy = {} if proxy_setting is True or proxy_setting is None else proxy_setting
            self.specialized_proxy = Proxy(
                config, role_proxy, config.secrets, role_name=name, context=f"servers/{name}/proxy"
            )
        self._freeze()

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Role({self.name!r}, hosts={self.hosts})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Role) and other.name == self.name and other.config is self.config

    def __hash__(self) -> int:
        return hash(self.name)

    # -- hosts --------------------------------------------------------------------
    @functools.cached_property
    def tagged_hosts(self) -> dict[str, list[str]]:
        """Host -> its tags, in the order written."""
        servers: Any = self.config.raw_config.get("servers")
        if isinstance(servers, list):
            entries = servers
        else:
            role_servers = servers[self.name]
            entries = role_servers if isinstance(role_servers, list) else list(role_servers.get("hosts") or [])
        tagged: dict[str, list[str]] = {}
        for entry in entries:
            if isinstance(entry, dict):
                host, tags = next(iter(entry.items()))
                tagged[to_s(host)] = [to_s(tag) for tag in tags] if isinstance(tags, list) else [to_s(tags)]
            elif isinstance(entry, str):
                tagged[entry] = []
        return tagged

    @property
    def hosts(self) -> list[str]:
        return list(self.tagged_hosts)

    @property
    def primary_host(self) -> str | None:
        return self.hosts[0] if self.hosts else None

    def tags(self, host: str) -> list[str]:
        if host not in self.tagged_hosts:
            raise ConfigError(f"{host} is not a host of the {self.name} role (its hosts: {', '.join(self.hosts)})")
        return list(self.tagged_hosts[host])

    def env_tags(self, host: str) -> list[EnvTag]:
        """The `env.tags` entries that apply to `host` (unknown tags are ignored)."""
        return [tag for tag in (self.config.env_tag(name) for name in self.tags(host)) if tag is not None]

    # -- names --------------------------------------------------------------------
    @property
    def primary(self) -> bool:
        return self.name == self.config.primary_role_name

    @property
    def container_prefix(self) -> str:
        """`<service>-<role>[-<destination>]`, also the proxy's service name."""
        return "-".join(part for part in (self.config.service, self.name, self.config.destination) if part)

    def container_name(self, version: str | None = None) -> str:
        """`<service>-<role>[-<destination>]-<version>` (the configured version by default)."""
        return f"{self.container_prefix}-{version or self.config.version}"

    @property
    def labels(self) -> dict[str, Any]:
        """`service`, `role`, `destination` (None without one), then root labels, then role labels."""
        labels: dict[str, Any] = {
            "service": self.config.service, "role": self.name, "destination": self.config.destination,
        }
        if self.config.labels and present(self.config.labels):
            labels.update(self.config.labels)
        if present(self.specializations.get("labels")):
            labels.update(self.specializations["labels"])
        return labels

    @property
    def label_args(self) -> list[str]:
        return argumentize("--label", self.labels)

    # -- container settings ---------------------------------------------------------
    @property
    def cmd(self) -> str | None:
        return self.specializations.get("cmd")

    @property
    def docker_options(self) -> dict[str, Any]:
        return dict(self.specializations.get("options") or {})

    @functools.cached_property
    def logging(self) -> Logging:
        return self.config.logging.merge(self.specialized_logging)

    @property
    def logging_args(self) -> list[str]:
        return self.logging.args

    @functools.cached_property
    def proxy(self) -> Proxy | None:
        """The effective proxy settings (root merged under the role's), or None."""
        if not self.running_proxy or self.specialized_proxy is None:
            return None
        return self.specialized_proxy.merge(self.config.proxy)

    @property
    def ssl(self) -> bool:
        return self.running_proxy and self.proxy is not None and self.proxy.ssl

    @property
    def stop_timeout(self) -> int | None:
        return either(self.specializations.get("stop_timeout"), self.config.stop_timeout)

    @property
    def stop_args(self) -> list[str]:
        """`-t N` for `docker stop`: proxied roles rely on the proxy's drain unless stop_timeout is set."""
        timeout = either(self.stop_timeout, None if self.running_proxy else self.config.drain_timeout)
        return [] if timeout is None else ["-t", to_s(timeout)]

    # -- env ----------------------------------------------------------------------
    def env(self, host: str) -> Env:
        """Root env, then the role's, then each tag of `host`, later entries winning."""
        env = self.config.env.merge(self.specialized_env)
        for tag in self.env_tags(host):
            env = env.merge(tag.env)
        return env

    def env_args(self, host: str) -> list[str]:
        return [*self.env(host).clear_args, *argumentize("--env-file", self.secrets_path)]

    @property
    def env_directory(self) -> str:
        return posixpath.join(self.config.env_directory, "roles")

    @property
    def secrets_path(self) -> str:
        """The env file on the host: `.kamal/apps/<svc_dest>/env/roles/<role>.env`."""
        return posixpath.join(self.config.env_directory, "roles", f"{self.name}.env")

    # -- assets -------------------------------------------------------------------
    @property
    def _asset_path_config(self) -> tuple[str, str | None] | None:
        raw = either(self.specializations.get("asset_path"), self.config.asset_path)
        if not present(raw):
            return None
        path, _, options = to_s(raw).partition(":")
        return path, (options if ":" in to_s(raw) else None)

    @property
    def asset_path(self) -> str | None:
        parts = self._asset_path_config
        return parts[0] if parts else None

    @property
    def asset_path_options(self) -> str | None:
        parts = self._asset_path_config
        return parts[1] if parts else None

    @property
    def assets(self) -> bool:
        return present(self.asset_path) and self.running_proxy

    def asset_volume(self, version: str | None = None) -> Volume | None:
        if not self.assets:
            return None
        return Volume(self.asset_volume_directory(version), self.asset_path or "", self.asset_path_options)

    def asset_extracted_directory(self, version: str | None = None) -> str:
        return posixpath.join(self.config.assets_directory, "extracted",
                              f"{self.name}-{version or self.config.version}")

    def asset_volume_directory(self, version: str | None = None) -> str:
        return posixpath.join(self.config.assets_directory, "volumes", f"{self.name}-{version or self.config.version}")

    def ensure_one_host_for_ssl(self) -> None:
        proxy = self.proxy
        # x-kamalnb is checked where it is used (`kamalnb.extension`): here any shape may come.
        settings = (self.config.kamalnb or {}).get("proxy")
        shared = isinstance(settings, dict) and settings.get("shared_certificate") is True
        if (self.running_proxy and proxy is not None and proxy.ssl and len(self.hosts) > 1
                and not proxy.custom_ssl_certificate and not shared):
            raise ConfigError(
                "SSL is only supported on a single server unless you provide custom certificates, "
                f"found {len(self.hosts)} servers for role {self.name} (kamalnb can obtain one certificate "
                "and place it on every server: set `x-kamalnb: proxy: shared_certificate: true`)"
            )
