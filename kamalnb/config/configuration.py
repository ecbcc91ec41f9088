"""The whole configuration: Kamal's `Kamal::Configuration`, read-only, with the same names.

Everything Kamal derives from deploy.yml is a property here (`repository`,
`absolute_image`, `latest_tag`, `service_and_destination`, directories on the host...), so
command builders and steps never re-derive a name. Secrets are read only when first used.
"""

from __future__ import annotations

import copy
import functools
import os
import posixpath
import re
import secrets as random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kamalnb.config import schema
from kamalnb.config.accessory import Accessory
from kamalnb.config.alias import Alias
from kamalnb.config.base import Frozen
from kamalnb.config.boot import Boot
from kamalnb.config.builder import Builder, machine_arch
from kamalnb.config.env import Env, EnvTag
from kamalnb.config.git import Git
from kamalnb.config.logging import Logging
from kamalnb.config.output import Output
from kamalnb.config.proxy import Proxy, ProxyBoot, ProxyRun
from kamalnb.config.registry import Registry
from kamalnb.config.role import Role
from kamalnb.config.ruby import argumentize, either, present, to_s, version_greater
from kamalnb.config.specifics import Specifics
from kamalnb.config.ssh import Ssh
from kamalnb.config.sshkit import Sshkit
from kamalnb.config.validator import ConfigurationValidator, ServersValidator, validate
from kamalnb.errors import ConfigError

# The Kamal release whose configuration this package reads.
KAMAL_VERSION = "2.12.0"
HOOKS_OUTPUT_LEVELS = ("quiet", "verbose")


def _checked_version(version: str, source: str) -> str:
    if not TAG_PATTERN.fullmatch(version):
        raise ConfigError(f"{source} {version[:80]!r} is not a tag Docker accepts for the image (up to 128 "
                          "letters, digits, `_`, `.` and `-`, not starting with `.` or `-`)")
    return version


class Servers(Frozen):
    """`servers:`: the roles, sorted by name (`servers: [hosts]` is the single role `web`)."""

    def __init__(self, servers_config: Any, roles: tuple[Role, ...]) -> None:
        self.servers_config = servers_config
        self.roles = roles
        self._freeze()


# Docker's own grammar (distribution/reference): a tag, a repository's path components, a
# registry's host[:port]; a container name's characters. Values outside them would be
# refused by Docker half-way through a deploy, or be read by the host's shell as syntax.
TAG_PATTERN = re.compile(r"[\w][\w.-]{0,127}")
REPOSITORY_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_PATTERN = re.compile(rf"{REPOSITORY_COMPONENT}(?:/{REPOSITORY_COMPONENT})*")
DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
REGISTRY_PATTERN = re.compile(rf"(?:{DOMAIN_LABEL}(?:\.{DOMAIN_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Env and label names: Docker takes more, but these are what reach `--env` and `--label` unquoted.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
# Every container name starts with the service; the `kamal` network resolves names as DNS labels.
MAX_NAME_LENGTH = 63
MAX_IMAGE_LENGTH = 255

# A host as ssh takes it: a DNS name or IPv4 address, or an IPv6 one in brackets; a user
# before it (`user@`) and an SSH port after it (`:2222`) are allowed.
HOST_PATTERN = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]*@)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}|\[[0-9A-Fa-f:.]+\])"
                          r"(?::[0-9]{1,5})?")


class Configuration(Frozen):
    """A loaded deploy.yml (plus destination file). Build it with `kamalnb.config.load()`."""

    def __init__(
        self,
        raw_config: Mapping[str, Any],
        destination: str | None = None,
        version: str | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        specific_hosts: Sequence[str] | None = None,
        specific_roles: Sequence[str] | None = None,
        primary: bool = False,
        config_file: str | None = None,
        warnings: Sequence[str] = (),
    ) -> None:
        self.raw_config: dict[str, Any] = copy.deepcopy(dict(raw_config))
        self.destination = destination
        self.declared_version = version
        self.root = Path(root) if root is not None else Path.cwd()
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        self.config_file = config_file
        self.warnings: tuple[str, ...] = tuple(warnings)
        self.git = Git(self.root)

        validate(self.raw_config, schema.CONFIGURATION, "", ConfigurationValidator)
        extension = self.raw_config.get("x-kamalnb")
        if extension is not None and not isinstance(extension, dict):
            raise ConfigError("x-kamalnb: should be a hash")
        self.kamalnb: dict[str, Any] = dict(extension or {})

        # Imported here: the secrets package uses the config package's Ruby helpers.
        from kamalnb.secrets.store import Secrets

        self.secrets = Secrets(destination=destination, secrets_path=self.secrets_path, root=self.root,
                               environ=self.environ)

        servers = self.raw_config.get("servers")
        validate(servers, None, "servers", ServersValidator)
        role_names = ["web"] if isinstance(servers, list) else sorted(to_s(name) for name in (servers or {}))
        self.roles: tuple[Role, ...] = ()
        self.roles = tuple(Role(name, self) for name in role_names)
        self.servers = Servers(servers, self.roles)
        self.registry = Registry(self.raw_config.get("registry"), self.secrets)
        self.accessories: tuple[Accessory, ...] = ()
        self.accessories = tuple(Accessory(to_s(name), self) for name in (self.raw_config.get("accessories") or {}))
        self.aliases: dict[str, Alias] = {
            to_s(name): Alias(to_s(name), command) for name, command in (self.raw_config.get("aliases") or {}).items()
        }
        self.boot = Boot(self.raw_config.get("boot"), len(self.all_hosts))
        self.builder = Builder(self, self.raw_config.get("builder"))
        self.env = Env(self.raw_config.get("env") or {}, self.secrets)
        self.logging = Logging(self.raw_config.get("logging"))
        self.output = Output(self.raw_config.get("output"))
        self.proxy = Proxy(self, self.raw_config.get("proxy"), self.secrets)
        self.proxy_boot = ProxyBoot(self)
        self.ssh = Ssh(self.raw_config.get("ssh"), self.secrets)
        self.sshkit = Sshkit(self.raw_config.get("sshkit"))

        self._ensure_destination_if_required()
        self._ensure_required_keys_present()
        self._ensure_valid_kamal_version()
        self._ensure_retain_containers_valid()
        self._ensure_valid_service_name()
        self._ensure_no_traefik_reboot_hooks()
        for role in self.roles:
            role.ensure_one_host_for_ssl()
        self._ensure_unique_hosts_for_ssl_roles()
        self._ensure_local_registry_remote_builder_has_ssh_url()
        self._ensure_no_conflicting_proxy_runs()
        self._ensure_valid_hooks_output()
        self._ensure_hosts_and_ports_a_host_accepts()
        self._ensure_names_docker_accepts()

        self.specifics = Specifics.select(self, specific_hosts, specific_roles, primary)
        self._freeze()

    def with_version(self, version: str | None) -> Configuration:
        """This configuration (files, destination, -h/-r/-p selection, warnings) for another version."""
        if not version or version == self.declared_version:
            return self
        specifics = self.specifics
        return Configuration(
            self.raw_config, self.destination, version, root=self.root, environ=self.environ,
            specific_hosts=specifics.specific_hosts,
            specific_roles=[role.name for role in specifics.specific_roles] if specifics.specific_roles else None,
            config_file=self.config_file, warnings=self.warnings,
        )

    def __repr__(self) -> str:
        dest = f", destination={self.destination!r}" if self.destination else ""
        return f"<Configuration service={self.service!r}{dest} roles={[r.name for r in self.roles]}>"

    def _repr_html_(self) -> str:
        """Notebook display: a table of roles, hosts and settings (never secret values)."""
        from kamalnb.config import display

        return display.html_table(self, f"Configuration {self.service_and_destination}")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from kamalnb.config import display

        printer.text(repr(self) if cycle else display.text(self, f"Configuration {self.service_and_destination}"))

    # -- raw settings -----------------------------------------------------------------
    @property
    def service(self) -> str:
        return to_s(self.raw_config.get("service"))

    @property
    def labels(self) -> dict[str, Any] | None:
        return self.raw_config.get("labels")

    @property
    def image(self) -> str | None:
        image = self.raw_config.get("image")
        if present(image):
            return to_s(image)
        if self.registry.local:
            return self.service
        return None

    @property
    def minimum_version(self) -> str | None:
        value = self.raw_config.get("minimum_version")
        return None if value is None else to_s(value)

    @property
    def primary_role_name(self) -> str:
        return to_s(either(self.raw_config.get("primary_role"), "web"))

    @property
    def allow_empty_roles(self) -> bool:
        return bool(self.raw_config.get("allow_empty_roles"))

    @property
    def require_destination(self) -> bool:
        return bool(self.raw_config.get("require_destination"))

    @property
    def retain_containers(self) -> int:
        return either(self.raw_config.get("retain_containers"), 5)

    @property
    def readiness_delay(self) -> int:
        return either(self.raw_config.get("readiness_delay"), 7)

    @property
    def deploy_timeout(self) -> int:
        return either(self.raw_config.get("deploy_timeout"), 30)

    @property
    def drain_timeout(self) -> int:
        return either(self.raw_config.get("drain_timeout"), 30)

    @property
    def stop_timeout(self) -> int | None:
        return self.raw_config.get("stop_timeout")

    @property
    def hooks_path(self) -> str:
        return to_s(either(self.raw_config.get("hooks_path"), ".kamal/hooks"))

    @property
    def secrets_path(self) -> str:
        return to_s(either(self.raw_config.get("secrets_path"), ".kamal/secrets"))

    @property
    def asset_path(self) -> str | None:
        return self.raw_config.get("asset_path")

    @property
    def error_pages_path(self) -> str | None:
        return self.raw_config.get("error_pages_path")

    @property
    def volumes(self) -> list[str]:
        return [to_s(volume) for volume in self.raw_config.get("volumes") or []]

    @property
    def volume_args(self) -> list[str]:
        return argumentize("--volume", self.volumes) if self.volumes else []

    @property
    def logging_args(self) -> list[str]:
        return self.logging.args

    def hooks_output_for(self, hook: str) -> str | None:
        """`quiet`, `verbose` or None for one hook, from `hooks_output`."""
        setting = self.raw_config.get("hooks_output")
        if isinstance(setting, dict):
            level = setting.get(hook)
            return None if level is None else to_s(level).lstrip(":")
        if setting is None:
            return None
        return to_s(setting).lstrip(":")

    # -- versions and images ------------------------------------------------------------
    @functools.cached_property
    def version(self) -> str:
        """`version=` given to load() > `VERSION` env > git HEAD (+ `_uncommitted_<hex>`)."""
        if present(self.declared_version):
            return _checked_version(str(self.declared_version), "The version")
        if "VERSION" in self.environ:
            return _checked_version(self.environ["VERSION"], "The version in VERSION,")
        if not self.git.used:
            raise ConfigError(f"Can't use commit hash as version, no git repository found in {self.root}")
        version = self.git.revision
        if present(self.git.uncommitted_changes) and not self.builder.git_clone:
            version += f"_uncommitted_{random.token_hex(8)}"
        return version

    @property
    def abbreviated_version(self) -> str:
        """The version cut to 7 characters, unless it contains `_` (uncommitted/replaced)."""
        return self.version if "_" in self.version else self.version[:7]

    @property
    def service_and_destination(self) -> str:
        return "-".join(part for part in (self.service, self.destination) if part)

    @property
    def repository(self) -> str:
        return "/".join(part for part in (self.registry.server, self.image) if part is not None)

    @property
    def absolute_image(self) -> str:
        return f"{self.repository}:{self.version}"

    @property
    def latest_tag(self) -> str:
        return "-".join(["latest", *([self.destination] if self.destination else [])])

    @property
    def latest_image(self) -> str:
        return f"{self.repository}:{self.latest_tag}"

    @property
    def service_with_version(self) -> str:
        return f"{self.service}-{self.version}"

    # -- roles and hosts -----------------------------------------------------------------
    def role(self, name: str) -> Role | None:
        return next((role for role in self.roles if role.name == str(name)), None)

    def accessory(self, name: str) -> Accessory | None:
        return next((accessory for accessory in self.accessories if accessory.name == str(name)), None)

    @property
    def primary_role(self) -> Role | None:
        return self.role(self.primary_role_name)

    @property
    def primary_host(self) -> str | None:
        role = self.primary_role
        return role.primary_host if role else None

    @property
    def all_hosts(self) -> list[str]:
        """App hosts then accessory hosts, each once, in config order."""
        holders: list[Role | Accessory] = [*self.roles, *self.accessories]
        return list(dict.fromkeys(host for holder in holders for host in holder.hosts))

    @property
    def app_hosts(self) -> list[str]:
        return list(dict.fromkeys(host for role in self.roles for host in role.hosts))

    def host_roles(self, host: str) -> list[Role]:
        return [role for role in self.roles if host in role.tagged_hosts]

    def host_accessories(self, host: str) -> list[Accessory]:
        return [accessory for accessory in self.accessories if host in accessory.hosts]

    @property
    def proxy_roles(self) -> list[Role]:
        return [role for role in self.roles if role.running_proxy]

    @property
    def proxy_role_names(self) -> list[str]:
        return [role.name for role in self.proxy_roles]

    @property
    def proxy_accessories(self) -> list[Accessory]:
        return [accessory for accessory in self.accessories if accessory.running_proxy]

    @property
    def proxy_hosts(self) -> list[str]:
        holders: list[Role | Accessory] = [*self.proxy_roles, *self.proxy_accessories]
        return list(dict.fromkeys(host for holder in holders for host in holder.hosts))

    def _proxy_runs(self, host: str) -> list[ProxyRun]:
        holders: list[Role | Accessory] = [*self.host_roles(host), *self.host_accessories(host)]
        return [holder.proxy.run for holder in holders if holder.proxy is not None and holder.proxy.run is not None]

    def proxy_run(self, host: str) -> ProxyRun | None:
        """The `proxy.run` settings for a host (identical for everything on it), or None."""
        runs = self._proxy_runs(str(host))
        return runs[0] if runs else None

    @functools.cached_property
    def env_tags(self) -> list[EnvTag]:
        env = self.raw_config.get("env")
        tags = env.get("tags") if isinstance(env, dict) else None
        return [EnvTag(to_s(name), config, self.secrets) for name, config in (tags or {}).items()]

    def env_tag(self, name: str) -> EnvTag | None:
        return next((tag for tag in self.env_tags if tag.name == str(name)), None)

    # -- directories on the hosts (relative to the SSH user's home) -----------------------
    @property
    def run_directory(self) -> str:
        """Always `.kamal`: Kamal 2 ignores `run_directory` so apps share one place."""
        return ".kamal"

    @property
    def apps_directory(self) -> str:
        return posixpath.join(self.run_directory, "apps")

    @property
    def app_directory(self) -> str:
        return posixpath.join(self.apps_directory, self.service_and_destination)

    @property
    def env_directory(self) -> str:
        return posixpath.join(self.app_directory, "env")

    @property
    def assets_directory(self) -> str:
        return posixpath.join(self.app_directory, "assets")

    # -- `kamal config` ----------------------------------------------------------------
    def to_h(self) -> dict[str, Any]:
        """What `kamal config` prints, with Kamal's key names (secrets stay Secret values)."""
        from kamalnb.config.printer import config_hash

        return config_hash(self)

    # -- checks Kamal runs after validation ------------------------------------------------
    def _ensure_destination_if_required(self) -> None:
        if self.require_destination and self.destination is None:
            raise ConfigError("You must specify a destination")

    def _ensure_required_keys_present(self) -> None:
        for key in ("service", "registry"):
            if not present(self.raw_config.get(key)):
                raise ConfigError(f"Missing required configuration for {key}")
        if not present(self.image):
            raise ConfigError("Missing required configuration for image")
        if self.raw_config.get("servers") is None:
            if not present(self.raw_config.get("accessories")):
                raise ConfigError("No servers or accessories specified")
            return
        primary = self.primary_role
        if primary is None:
            raise ConfigError(f"The primary_role {self.primary_role_name} isn't defined")
        if not primary.hosts:
            raise ConfigError(f"No servers specified for the {primary.name} primary_role")
        if not self.allow_empty_roles:
            for role in self.roles:
                if not role.hosts:
                    raise ConfigError(
                        f"No servers specified for the {role.name} role. "
                        "You can ignore this with allow_empty_roles: true"
                    )

    def _ensure_valid_kamal_version(self) -> None:
        if self.minimum_version and version_greater(self.minimum_version, KAMAL_VERSION):
            raise ConfigError(f"Current version is {KAMAL_VERSION}, minimum required is {self.minimum_version}")

    def _ensure_retain_containers_valid(self) -> None:
        if self.retain_containers < 1:
            raise ConfigError("Must retain at least 1 container")

    def _ensure_valid_service_name(self) -> None:
        # Kamal's test is per line (Ruby's ^ and $); a service name with a line break in it
        # would reach the hosts' shell, so the whole name must match.
        if not re.fullmatch(r"[a-z0-9_-]+", to_s(self.raw_config.get("service")), re.I):
            raise ConfigError("Service name can only include alphanumeric characters, hyphens, and underscores")

    def _ensure_no_traefik_reboot_hooks(self) -> None:
        found = [
            hook for hook in ("pre-traefik-reboot", "post-traefik-reboot")
            if (self.root / self.hooks_path / hook).exists()
        ]
        if found:
            raise ConfigError(f"Found {', '.join(found)}, these should be renamed to (pre|post)-proxy-reboot")

    def _ensure_unique_hosts_for_ssl_roles(self) -> None:
        hosts = [host for role in self.roles if role.ssl and role.proxy for host in role.proxy.hosts]
        duplicates = [host for index, host in enumerate(hosts) if hosts.count(host) > 1 and hosts.index(host) == index]
        if duplicates:
            raise ConfigError(f"Different roles can't share the same host for SSL: {', '.join(duplicates)}")

    def _ensure_local_registry_remote_builder_has_ssh_url(self) -> None:
        remote = self.builder.remote
        if (self.registry.local and self.builder.is_remote(machine_arch())
                and not to_s(remote).lower().startswith("ssh://")):
            raise ConfigError("Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)")

    def _ensure_hosts_and_ports_a_host_accepts(self) -> None:
        """What Kamal's schema lets through and a host would refuse later, half-way through a
        deploy: refused here, before anything connects."""
        for role in self.roles:
            for host in role.hosts:
                if not HOST_PATTERN.fullmatch(host):
                    raise ConfigError(f"servers/{role.name}/hosts: {host[:80]!r} is not a host name or an address "
                                      "(letters, digits, `.`, `-`, `_`; an IPv6 address in brackets; "
                                      "`user@` before it and `:port` after it are allowed)")
            proxy = role.proxy
            if proxy is not None and not (isinstance(proxy.app_port, int) and 1 <= proxy.app_port <= 65535):
                raise ConfigError(f"servers/{role.name}/proxy/app_port: {str(proxy.app_port)[:20]} is not a port "
                                  "(a number from 1 to 65535)")

    def _ensure_names_docker_accepts(self) -> None:
        """Names that end up in container names, image references, `--env` and `--label`:
        refused here when Docker would refuse them, or a shell would read them as syntax."""
        service = self.service
        if len(service) > MAX_NAME_LENGTH:
            raise ConfigError(f"Service name is {len(service)} characters long: it can be at most {MAX_NAME_LENGTH} "
                              "(it starts every container name)")
        if self.destination is not None and not (NAME_PATTERN.fullmatch(self.destination)
                                                 and len(self.destination) <= MAX_NAME_LENGTH):
            raise ConfigError(f"destination {self.destination[:80]!r} is not a name Docker accepts in container "
                              f"names (up to {MAX_NAME_LENGTH} letters, digits, `_`, `.`, `-`, starting with a letter "
                              "or digit)")
        for role in self.roles:
            if not (NAME_PATTERN.fullmatch(role.name) and len(role.name) <= MAX_NAME_LENGTH):
                raise ConfigError(f"servers/{role.name[:80]}: the role name is not one Docker accepts in container "
                                  f"names (up to {MAX_NAME_LENGTH} letters, digits, `_`, `.`, `-`, starting with a "
                                  "letter or digit)")
        image = self.image or ""
        if not IMAGE_PATTERN.fullmatch(image) or len(image) > MAX_IMAGE_LENGTH:
            lowercase = " (Docker's repository names are lowercase)" if image.lower() != image else ""
            raise ConfigError(f"image: {image[:80]!r} is not an image name Docker accepts{lowercase}: lowercase "
                              "letters and digits, with `.`, `_` or `-` between them, path parts joined by `/` "
                              "(the registry goes in registry/server)")
        server = self.registry.server
        if server is not None and not REGISTRY_PATTERN.fullmatch(server):
            raise ConfigError(f"registry/server: {server[:80]!r} is not a registry address (host or host:port)")
        for accessory in self.accessories:
            for host in accessory.hosts:
                if not HOST_PATTERN.fullmatch(host):
                    raise ConfigError(f"accessories/{accessory.name}: host {host[:80]!r} is not a host name or an "
                                      "address (letters, digits, `.`, `-`, `_`; an IPv6 address in brackets)")
        for context, keys in self._env_and_label_keys():
            for key in keys:
                if not KEY_PATTERN.fullmatch(key):
                    raise ConfigError(f"{context}: {key[:80]!r} is not a name kamalnb passes to Docker (letters, "
                                      "digits, `_`, `.`, `-`, `/`)")

    def _env_and_label_keys(self) -> list[tuple[str, list[str]]]:
        found = [("env", [*self.env.clear, *self.env.secret_names]), ("labels", [to_s(k) for k in self.labels or {}])]
        for tag in self.env_tags:
            found.append((f"env/tags/{tag.name}", [*tag.env.clear, *tag.env.secret_names]))
        for role in self.roles:
            env = role.specialized_env
            found.append((f"servers/{role.name}/env", [*env.clear, *env.secret_names]))
            labels = role.specializations.get("labels")
            if isinstance(labels, dict):
                found.append((f"servers/{role.name}/labels", [to_s(key) for key in labels]))
        return [(context, [to_s(key) for key in keys]) for context, keys in found]

    def _ensure_no_conflicting_proxy_runs(self) -> None:
        for host in self.all_hosts:
            runs = self._proxy_runs(host)
            if any(run != runs[0] for run in runs[1:]):
                raise ConfigError(f"Conflicting proxy run configurations for host {host}")

    def _ensure_valid_hooks_output(self) -> None:
        setting = self.raw_config.get("hooks_output")
        # Kamal checks a string, or every level of a hash; other scalars pass unchecked.
        levels = (setting.items() if isinstance(setting, dict)
                  else [(None, setting)] if isinstance(setting, str) else [])
        for hook, level in levels:
            name = to_s(level).lstrip(":")
            if name not in HOOKS_OUTPUT_LEVELS:
                where = f" for hook '{to_s(hook)}'" if hook is not None else ""
                raise ConfigError(
                    f"Invalid hooks_output '{name}'{where}, must be one of: {', '.join(HOOKS_OUTPUT_LEVELS)}"
                )

