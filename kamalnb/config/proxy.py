"""`proxy:` for the app, a role or an accessory, and the proxy container's run options.

Kamal drives kamal-proxy with these settings; kamalnb reads the same keys and hands them to
its own proxy driver. `deploy_options` keeps Kamal's flag names so both can be compared.
"""

from __future__ import annotations

import ipaddress
import posixpath
from typing import TYPE_CHECKING, Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import argumentize, deep_merge, either, optionize, present, to_s
from kamalnb.config.validator import ProxyValidator, validate
from kamalnb.config.volume import Volume
from kamalnb.sensitive import Secret

if TYPE_CHECKING:
    from kamalnb.config.configuration import Configuration
    from kamalnb.secrets.store import Secrets

DEFAULT_LOG_REQUEST_HEADERS = ["Cache-Control", "Last-Modified", "User-Agent"]
CONTAINER_NAME = "kamal-proxy"
MINIMUM_VERSION = "v0.9.2"
DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443
DEFAULT_LOG_MAX_SIZE = "10m"
APPS_CONTAINER_DIRECTORY = "/home/kamal-proxy/.apps-config"


def _seconds(value: Any) -> str | None:
    return f"{value}s" if value is not None and value is not False else None


def _format_bind_ip(ip: str | None) -> str | None:
    if ip is None:
        return None
    try:
        is_v6 = isinstance(ipaddress.ip_address(ip), ipaddress.IPv6Address)
    except ValueError:
        is_v6 = False
    return f"[{ip}]" if is_v6 else ip


class Proxy(Frozen):
    """One proxy section. A role's effective proxy is the root one merged under the role's."""

    def __init__(
        self,
        config: Configuration,
        proxy_config: dict[str, Any] | None,
        secrets: Secrets,
        role_name: str | None = None,
        context: str = "proxy",
        validate_config: bool = True,
    ) -> None:
        self.config = config
        self.proxy_config: dict[str, Any] = {} if proxy_config is None else proxy_config
        self.role_name = role_name
        self.secrets = secrets
        if validate_config:
            validate(self.proxy_config, schema.PROXY, context, ProxyValidator)
        run = self.proxy_config.get("run") if isinstance(self.proxy_config, dict) else None
        self.run: ProxyRun | None = ProxyRun(config, run) if isinstance(run, dict) and run else None
        self._freeze()

    @property
    def app_port(self) -> int:
        return self.proxy_config.get("app_port", 80)

    @property
    def ssl(self) -> bool:
        """Whether TLS is on (`ssl: true` or custom certificates)."""
        return bool(self.proxy_config.get("ssl", False))

    @property
    def hosts(self) -> list[str]:
        if self.proxy_config.get("hosts"):
            return list(self.proxy_config["hosts"])
        host = self.proxy_config.get("host")
        return to_s(host).split(",") if host is not None else []

    @property
    def custom_ssl_certificate(self) -> bool:
        ssl = self.proxy_config.get("ssl")
        return isinstance(ssl, dict) and present(ssl.get("certificate_pem")) and present(ssl.get("private_key_pem"))

    @property
    def certificate_pem_content(self) -> Secret | None:
        ssl = self.proxy_config.get("ssl")
        return self.secrets[ssl["certificate_pem"]] if isinstance(ssl, dict) else None

    @property
    def private_key_pem_content(self) -> Secret | None:
        ssl = self.proxy_config.get("ssl")
        return self.secrets[ssl["private_key_pem"]] if isinstance(ssl, dict) else None

    def _tls_path(self, directory: str, filename: str) -> str | None:
        if not self.custom_ssl_certificate:
            return None
        return posixpath.join(*[part for part in (directory, self.role_name, filename) if part is not None])

    @property
    def host_tls_cert(self) -> str | None:
        return self._tls_path(self.config.proxy_boot.tls_directory, "cert.pem")

    @property
    def host_tls_key(self) -> str | None:
        return self._tls_path(self.config.proxy_boot.tls_directory, "key.pem")

    @property
    def container_tls_cert(self) -> str | None:
        return self._tls_path(self.config.proxy_boot.tls_container_directory, "cert.pem")

    @property
    def container_tls_key(self) -> str | None:
        return self._tls_path(self.config.proxy_boot.tls_container_directory, "key.pem")

    @property
    def path_prefixes(self) -> list[str]:
        if self.proxy_config.get("path_prefixes"):
            return list(self.proxy_config["path_prefixes"])
        prefix = self.proxy_config.get("path_prefix")
        return to_s(prefix).split(",") if prefix is not None else []

    @property
    def healthcheck(self) -> dict[str, Any]:
        """`path`, `interval`, `timeout` as configured (kamal-proxy's defaults: /up, 1, 5)."""
        return dict(self.proxy_config.get("healthcheck") or {})

    @property
    def healthcheck_path(self) -> str:
        return self.healthcheck.get("path", "/up")

    @property
    def healthcheck_interval(self) -> float:
        return self.healthcheck.get("interval", 1)

    @property
    def healthcheck_timeout(self) -> float:
        return self.healthcheck.get("timeout", 5)

    @property
    def response_timeout(self) -> int | None:
        return self.proxy_config.get("response_timeout")

    @property
    def buffering(self) -> dict[str, Any]:
        return dict(self.proxy_config.get("buffering") or {})

    @property
    def ssl_redirect(self) -> bool | None:
        return self.proxy_config.get("ssl_redirect")

    @property
    def forward_headers(self) -> bool | None:
        return self.proxy_config.get("forward_headers")

    @property
    def strip_path_prefix(self) -> bool | None:
        return self.proxy_config.get("strip_path_prefix")

    @property
    def log_request_headers(self) -> list[str]:
        logging_config = self.proxy_config.get("logging") or {}
        return list(either(logging_config.get("request_headers"), DEFAULT_LOG_REQUEST_HEADERS))

    @property
    def log_response_headers(self) -> list[str] | None:
        return (self.proxy_config.get("logging") or {}).get("response_headers")

    @property
    def error_pages(self) -> str | None:
        if not self.config.error_pages_path:
            return None
        return posixpath.join(self.config.proxy_boot.error_pages_container_directory, self.config.version)

    @property
    def deploy_options(self) -> dict[str, Any]:
        """kamal-proxy `deploy` flags (without `--target`), None values dropped, as Kamal builds them."""
        buffering = self.proxy_config.get("buffering")
        options = {
            "host": self.hosts,
            "tls": True if self.ssl else None,
            "tls-certificate-path": self.container_tls_cert,
            "tls-private-key-path": self.container_tls_key,
            "deploy-timeout": _seconds(self.config.deploy_timeout),
            "drain-timeout": _seconds(self.config.drain_timeout),
            "health-check-interval": _seconds(self.healthcheck.get("interval")),
            "health-check-timeout": _seconds(self.healthcheck.get("timeout")),
            "health-check-path": self.healthcheck.get("path"),
            "target-timeout": _seconds(self.proxy_config.get("response_timeout")),
            "buffer-requests": (buffering if buffering is not None else {}).get("requests", True),
            "buffer-responses": (buffering if buffering is not None else {}).get("responses", True),
            "buffer-memory": self.buffering.get("memory"),
            "max-request-body": self.buffering.get("max_request_body"),
            "max-response-body": self.buffering.get("max_response_body"),
            "path-prefix": self.path_prefixes,
            "strip-path-prefix": self.strip_path_prefix,
            "forward-headers": self.forward_headers,
            "tls-redirect": self.ssl_redirect,
            "log-request-header": self.log_request_headers,
            "log-response-header": self.log_response_headers,
            "error-pages": self.error_pages,
        }
        return {key: value for key, value in options.items() if value is not None}

    def deploy_command_args(self, target: str) -> list[str]:
        return optionize({"target": f"{target}:{self.app_port}", **self.deploy_options}, with_="=")

    def stop_options(self, drain_timeout: Any = None, message: str | None = None) -> dict[str, Any]:
        options = {"drain-timeout": _seconds(drain_timeout), "message": message}
        return {key: value for key, value in options.items() if value is not None}

    def stop_command_args(self, drain_timeout: Any = None, message: str | None = None) -> list[str]:
        return optionize(self.stop_options(drain_timeout, message), with_="=")

    def merge(self, other: Proxy) -> Proxy:
        """This (role) proxy over `other` (root): the role's keys win."""
        return Proxy(
            self.config, deep_merge(other.proxy_config, self.proxy_config), self.secrets,
            role_name=self.role_name,
        )

    def __repr__(self) -> str:
        return f"Proxy(role={self.role_name!r}, hosts={self.hosts}, app_port={self.app_port}, ssl={self.ssl})"


class ProxyRun(Frozen):
    """`proxy.run`: how the proxy container itself is started on a host."""

    def __init__(self, config: Configuration, run_config: dict[str, Any]) -> None:
        self.config = config
        self.run_config = run_config
        self._freeze()

    @property
    def debug(self) -> bool | None:
        return self.run_config.get("debug")

    @property
    def publish(self) -> bool:
        return self.run_config.get("publish", True)

    @property
    def http_port(self) -> int:
        return self.run_config.get("http_port", DEFAULT_HTTP_PORT)

    @property
    def https_port(self) -> int:
        return self.run_config.get("https_port", DEFAULT_HTTPS_PORT)

    @property
    def bind_ips(self) -> list[str] | None:
        return self.run_config.get("bind_ips")

    @property
    def publish_args(self) -> str | None:
        if not self.publish:
            return None
        groups = []
        ips: list[str | None] = [*self.bind_ips] if self.bind_ips else [None]
        for ip in ips:
            bind = _format_bind_ip(ip)
            http = ":".join(to_s(part) for part in (bind, self.http_port, DEFAULT_HTTP_PORT) if part is not None)
            https = ":".join(to_s(part) for part in (bind, self.https_port, DEFAULT_HTTPS_PORT) if part is not None)
            groups.append(" ".join(argumentize("--publish", [http, https])))
        return " ".join(groups)

    @property
    def log_max_size(self) -> str:
        return self.run_config.get("log_max_size", DEFAULT_LOG_MAX_SIZE)

    @property
    def version(self) -> str:
        return self.run_config.get("version", MINIMUM_VERSION)

    @property
    def registry(self) -> str | None:
        return self.run_config.get("registry")

    @property
    def repository(self) -> str:
        return self.run_config.get("repository", "basecamp/kamal-proxy")

    @property
    def image(self) -> str:
        return "/".join(part for part in (self.registry, self.repository) if part) + f":{self.version}"

    @property
    def metrics_port(self) -> int | None:
        return self.run_config.get("metrics_port")

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.run_config.get("options") or {})

    container_name = CONTAINER_NAME

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProxyRun) and self.run_config == other.run_config

    def __hash__(self) -> int:
        return hash(repr(sorted(self.run_config.items(), key=lambda item: str(item[0]))))

    def __repr__(self) -> str:
        return f"ProxyRun({self.run_config!r})"


class ProxyBoot(Frozen):
    """Where proxy state lives on a host (paths relative to the SSH user's home)."""

    def __init__(self, config: Configuration) -> None:
        self.config = config
        self._freeze()

    container_name = CONTAINER_NAME
    apps_container_directory = APPS_CONTAINER_DIRECTORY

    @property
    def host_directory(self) -> str:
        return posixpath.join(self.config.run_directory, "proxy")

    @property
    def options_file(self) -> str:
        return posixpath.join(self.host_directory, "options")

    @property
    def image_file(self) -> str:
        return posixpath.join(self.host_directory, "image")

    @property
    def image_version_file(self) -> str:
        return posixpath.join(self.host_directory, "image_version")

    @property
    def run_command_file(self) -> str:
        return posixpath.join(self.host_directory, "run_command")

    @property
    def apps_directory(self) -> str:
        return posixpath.join(self.host_directory, "apps-config")

    @property
    def apps_volume(self) -> Volume:
        return Volume(self.apps_directory, APPS_CONTAINER_DIRECTORY)

    @property
    def app_directory(self) -> str:
        return posixpath.join(self.apps_directory, self.config.service_and_destination)

    @property
    def app_container_directory(self) -> str:
        return posixpath.join(APPS_CONTAINER_DIRECTORY, self.config.service_and_destination)

    @property
    def error_pages_directory(self) -> str:
        return posixpath.join(self.app_directory, "error_pages")

    @property
    def error_pages_container_directory(self) -> str:
        return posixpath.join(self.app_container_directory, "error_pages")

    @property
    def tls_directory(self) -> str:
        return posixpath.join(self.app_directory, "tls")

    @property
    def tls_container_directory(self) -> str:
        return posixpath.join(self.app_container_directory, "tls")
