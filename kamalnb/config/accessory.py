"""An accessory (`accessories.<name>`): a long-lived service container such as a database."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamalnb.config import erb, schema
from kamalnb.config.base import NETWORK, DockerOptions, Frozen
from kamalnb.config.env import Env
from kamalnb.config.proxy import Proxy
from kamalnb.config.registry import Registry
from kamalnb.config.ruby import argumentize, either, present, to_s
from kamalnb.config.validator import AccessoryValidator, validate
from kamalnb.config.volume import Volume
from kamalnb.errors import ConfigError
from kamalnb.sensitive import Secret

if TYPE_CHECKING:
    from kamalnb.config.configuration import Configuration



class AccessoryPath(Frozen):
    """A file or directory to put on the host and mount into the accessory."""

    def __init__(self, local: str, host_path: str, container_path: str, options: str | None, mode: str | None,
                 owner: str | None) -> None:
        self.local = local
        self.host_path = host_path
        self.container_path = container_path
        self.options = options
        self.mode = mode
        self.owner = owner
        self._freeze()

    @property
    def volume(self) -> Volume:
        return Volume(self.host_path, self.container_path, self.options)

    def __repr__(self) -> str:
        return f"AccessoryPath({self.local!r} -> {self.host_path!r}:{self.container_path!r})"


class Accessory(DockerOptions, Frozen):
    def __init__(self, name: str, config: Configuration) -> None:
        self.name = name
        self.config = config
        self.accessory_config: Any = config.raw_config["accessories"][name]
        validate(self.accessory_config, schema.ACCESSORY, f"accessories/{name}", AccessoryValidator)
        self._ensure_valid_roles()
        self.env = Env(self.accessory_config.get("env", {}), config.secrets, context=f"accessories/{name}/env")
        self.proxy: Proxy | None = None
        if self.running_proxy:
            self.proxy = Proxy(
                config, self.accessory_config["proxy"], config.secrets, context=f"accessories/{name}/proxy"
            )
        self.registry: Registry | None = None
        if present(self.accessory_config.get("registry")):
            self.registry = Registry(
                self.accessory_config["registry"], config.secrets, context=f"accessories/{name}/registry"
            )
        self._freeze()

    def __repr__(self) -> str:
        return f"Accessory({self.name!r}, service={self.service_name!r}, hosts={self.hosts})"

    def _ensure_valid_roles(self) -> None:
        role_names = [role.name for role in self.config.roles]
        if self.accessory_config.get("roles"):
            missing = [to_s(role) for role in self.accessory_config["roles"] if to_s(role) not in role_names]
            if missing:
                raise ConfigError(f"accessories/{self.name}: unknown roles {', '.join(missing)}")
        elif self.accessory_config.get("role") and self.config.role(to_s(self.accessory_config["role"])) is None:
            raise ConfigError(f"accessories/{self.name}: unknown role {to_s(self.accessory_config['role'])}")

    @property
    def service_name(self) -> str:
        """The container name: `service:` or `<service>-<name>` (no destination in it)."""
        return to_s(either(self.accessory_config.get("service"), f"{self.config.service}-{self.name}"))

    @property
    def image(self) -> str:
        server = self.registry.server if self.registry else None
        return "/".join(part for part in (server, to_s(self.accessory_config.get("image"))) if part)

    @property
    def hosts(self) -> list[str]:
        cfg = self.accessory_config
        if "host" in cfg:
            return [to_s(cfg["host"])]
        if "hosts" in cfg:
            return [to_s(next(iter(h))) if isinstance(h, dict) else to_s(h) for h in cfg["hosts"] or []]
        if "role" in cfg:
            role = self.config.role(to_s(cfg["role"]))
            return role.hosts if role else []
        if "roles" in cfg:
            hosts: list[str] = []
            for name in cfg["roles"]:
                role = self.config.role(to_s(name))
                hosts += role.hosts if role else []
            return hosts
        tags = [cfg["tag"]] if "tag" in cfg else list(cfg.get("tags") or [])
        hosts = []
        servers = self.config.raw_config.get("servers")
        if not isinstance(servers, dict):
            return hosts
        for tag in tags:
            # As in Kamal, only roles written as a plain host list are searched, and a
            # single string tag matches by substring.
            for role_servers in servers.values():
                if not isinstance(role_servers, list):
                    continue
                for entry in role_servers:
                    if isinstance(entry, dict):
                        host, host_tags = next(iter(entry.items()))
                        if to_s(tag) in host_tags:
                            hosts.append(to_s(host))
        return hosts

    @property
    def port(self) -> str | None:
        port = self.accessory_config.get("port")
        if port is None:
            return None
        port = to_s(port)
        return port if ":" in port else f"{port}:{port}"

    @property
    def network(self) -> str:
        return to_s(either(self.accessory_config.get("network"), NETWORK))

    @property
    def labels(self) -> dict[str, Any]:
        return {"service": self.service_name, **(self.accessory_config.get("labels") or {})}

    @property
    def label_args(self) -> list[str]:
        return argumentize("--label", self.labels)

    @property
    def env_directory(self) -> str:
        return posixpath.join(self.config.env_directory, "accessories")

    @property
    def secrets_path(self) -> str:
        """The env file on the host, keyed by the accessory's config name."""
        return posixpath.join(self.config.env_directory, "accessories", f"{self.name}.env")

    @property
    def env_args(self) -> list[str]:
        return [*self.env.clear_args, *argumentize("--env-file", self.secrets_path)]

    def _parse_paths(self, key: str, default_mode: str | None, is_file: bool) -> dict[str, AccessoryPath]:
        parsed: dict[str, AccessoryPath] = {}
        for entry in self.accessory_config.get(key) or []:
            if isinstance(entry, dict):
                local, remote = to_s(entry.get("local")), to_s(entry.get("remote"))
                options, mode, owner = entry.get("options"), either(entry.get("mode"), default_mode), entry.get("owner")
            else:
                parts = to_s(entry).split(":", 2)
                local, remote = parts[0], parts[1] if len(parts) > 1 else ""
                options, mode, owner = (parts[2] if len(parts) > 2 else None), default_mode, None
            if is_file:
                source = local if local.endswith("erb") else os.path.abspath(os.path.join(self.config.root, local))
                host_path = self.service_name + remote
            else:
                absolute = local.startswith("/")
                source = local if absolute else posixpath.join(f"$PWD/{self.service_name}", local)
                host_path = local if absolute else posixpath.join(self.service_name, local)
            parsed[source] = AccessoryPath(local, host_path, remote, options, mode, owner)
        return parsed

    @property
    def files(self) -> dict[str, AccessoryPath]:
        """Local file -> where it goes (`<service><remote>` on the host, mode 755 by default).

        Keyed by local path as in Kamal, so one local file can be mounted only once.
        `*.erb` files are rendered with the accessory env when uploaded.
        """
        return self._parse_paths("files", "755", is_file=True)

    def file_content(self, path: AccessoryPath) -> bytes | Secret:
        """What to upload for one of `files`: the file's bytes, or for `*.erb` the rendered text.

        ERB files see the accessory's env (clear and secret values) on top of the local
        environment, as in Kamal, so the rendered text is a Secret.
        """
        source = Path(self.config.root) / path.local
        if not source.is_file():
            raise ConfigError(f"accessories/{self.name}/files: {path.local} does not exist")
        if not path.local.endswith("erb"):
            return source.read_bytes()
        environ = dict(self.config.environ)
        environ.update({name: to_s(value) for name, value in self.env.clear.items()})
        environ.update({name: value.reveal() for name, value in self.env.secret_values.items()})
        return Secret(erb.render(source.read_text(encoding="utf-8"), environ, path.local))

    @property
    def directories(self) -> dict[str, AccessoryPath]:
        """Directory on the host (`$PWD/<service>/<local>` unless absolute) -> its mount."""
        return self._parse_paths("directories", None, is_file=False)

    @property
    def volumes(self) -> list[str]:
        return [to_s(v) for v in self.accessory_config.get("volumes") or []]

    @property
    def volume_args(self) -> list[str]:
        paths = list(self.files.values()) + list(self.directories.values())
        return argumentize("--volume", self.volumes) + [arg for path in paths for arg in path.volume.docker_args]

    @property
    def publish_args(self) -> list[str]:
        return argumentize("--publish", self.port) if self.port else []

    @property
    def network_args(self) -> list[str]:
        return argumentize("--network", self.network)

    @property
    def docker_options(self) -> dict[str, Any]:
        return dict(self.accessory_config.get("options") or {})

    @property
    def cmd(self) -> str | None:
        return self.accessory_config.get("cmd")

    @property
    def running_proxy(self) -> bool:
        return present(self.accessory_config.get("proxy"))
