"""kamalnb's own settings: the top-level `x-kamalnb:` key of deploy.yml, which Kamal ignores.

    x-kamalnb:
      proxy:
        image: caddy:2            # the Caddy image to run as the proxy
        acme_ca: https://...      # the ACME directory `ssl: true` certificates come from (Let's Encrypt)
        acme_ca_root: ca.pem      # a PEM file (local, relative to the app) the proxy trusts for that CA
        shared_certificate: true  # `ssl: true` on a role of several hosts: one certificate on all of them
      docker_host: unix:///...    # the engine local builds use (default: DOCKER_HOST)
      build_docker: /usr/bin/docker  # the docker client `docker build` runs without buildx (default: docker)
      lock_stale_after: 3600      # seconds after which a held deploy lock is shown as stale
      on_failure: revert          # a deploy that fails on a host or wave switches the hosts it
                                  # already switched back to what they ran before (revert), or
                                  # leaves them on the new version (keep, Kamal's behaviour)
      ssh: {...}                  # SSH extras, read by kamalnb.executors.settings_from_config
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kamalnb.errors import ConfigError

DEFAULT_PROXY_IMAGE = "caddy:2"
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
_KEYS = {"proxy", "docker_host", "build_docker", "lock_stale_after", "on_failure", "ssh"}
ON_FAILURE = ("revert", "keep")
_PROXY_KEYS = {"image", "acme_ca", "acme_ca_root", "shared_certificate"}


def _check_keys(section: Mapping[str, Any], allowed: set[str], path: str) -> None:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: should be a hash")
    for key in section:
        if key not in allowed:
            raise ConfigError(f"{path}/{key}: unknown key (known: {', '.join(sorted(allowed))})")


@dataclass(frozen=True)
class Extension:
    proxy_image: str = DEFAULT_PROXY_IMAGE
    docker_host: str | None = None
    build_docker: str = "docker"
    lock_stale_after: float = 3600.0
    acme_ca: str = LETS_ENCRYPT
    acme_ca_root: str | None = None
    shared_certificate: bool = False
    on_failure: str = "revert"

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> Extension:
        raw = raw or {}
        _check_keys(raw, _KEYS, "x-kamalnb")
        proxy = raw.get("proxy") or {}
        _check_keys(proxy, _PROXY_KEYS, "x-kamalnb/proxy")
        stale = raw.get("lock_stale_after", 3600)
        if not isinstance(stale, (int, float)) or isinstance(stale, bool) or stale <= 0:
            raise ConfigError("x-kamalnb/lock_stale_after: should be a number of seconds above 0")
        image = proxy.get("image", DEFAULT_PROXY_IMAGE)
        if not isinstance(image, str) or not image:
            raise ConfigError("x-kamalnb/proxy/image: should be an image reference, e.g. caddy:2")
        docker_host = raw.get("docker_host")
        if docker_host is not None and not isinstance(docker_host, str):
            raise ConfigError("x-kamalnb/docker_host: should be a string like unix:///var/run/docker.sock")
        build_docker = raw.get("build_docker", "docker")
        if not isinstance(build_docker, str) or not build_docker.strip():
            raise ConfigError("x-kamalnb/build_docker: should be a docker client's command, e.g. /usr/bin/docker")
        acme_ca = proxy.get("acme_ca", LETS_ENCRYPT)
        if not isinstance(acme_ca, str) or not acme_ca.startswith("https://"):
            raise ConfigError("x-kamalnb/proxy/acme_ca: should be an ACME directory URL starting with https://, "
                              f"e.g. {LETS_ENCRYPT}")
        acme_ca_root = proxy.get("acme_ca_root")
        if acme_ca_root is not None and (not isinstance(acme_ca_root, str) or not acme_ca_root):
            raise ConfigError("x-kamalnb/proxy/acme_ca_root: should be the path of a PEM file")
        shared = proxy.get("shared_certificate", False)
        if not isinstance(shared, bool):
            raise ConfigError("x-kamalnb/proxy/shared_certificate: should be true or false")
        on_failure = raw.get("on_failure", "revert")
        if on_failure not in ON_FAILURE:
            raise ConfigError(f"x-kamalnb/on_failure: should be revert or keep, not {on_failure!r}: revert switches "
                              "the hosts a failed deploy switched back to their previous version, keep leaves them")
        return cls(proxy_image=image, docker_host=docker_host, build_docker=build_docker,
                   lock_stale_after=float(stale), acme_ca=acme_ca, acme_ca_root=acme_ca_root,
                   shared_certificate=shared, on_failure=on_failure)
