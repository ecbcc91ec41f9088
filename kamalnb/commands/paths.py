"""Where Kamal 2 keeps its state on a server, relative to the SSH user's home.

The run directory is always `.kamal` in Kamal 2 (`run_directory` is accepted but ignored), so
several apps on one host find each other's state in the same place.
"""

from __future__ import annotations

import posixpath
from typing import Any

RUN_DIRECTORY = ".kamal"
APPS_DIRECTORY = posixpath.join(RUN_DIRECTORY, "apps")
PROXY_APPS_CONFIG_DIRECTORY = posixpath.join(RUN_DIRECTORY, "proxy", "apps-config")


def service_and_destination(config: Any) -> str:
    """`<service>` or `<service>-<destination>`."""
    return "-".join(part for part in (config.service, config.destination) if part)


def app_directory(config: Any) -> str:
    return posixpath.join(APPS_DIRECTORY, service_and_destination(config))


def env_directory(config: Any) -> str:
    return posixpath.join(app_directory(config), "env")


def assets_directory(config: Any) -> str:
    return posixpath.join(app_directory(config), "assets")


def proxy_app_directory(config: Any) -> str:
    return posixpath.join(PROXY_APPS_CONFIG_DIRECTORY, service_and_destination(config))


def error_pages_directory(config: Any) -> str:
    return posixpath.join(proxy_app_directory(config), "error_pages")


def tls_directory(config: Any) -> str:
    return posixpath.join(proxy_app_directory(config), "tls")
