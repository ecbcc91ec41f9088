"""`builder:`: how the image is built (arches, remote builder, cache, context...)."""

from __future__ import annotations

import hashlib
import os
import platform
import posixpath
import tempfile
from typing import TYPE_CHECKING, Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import either, to_s
from kamalnb.config.validator import BuilderValidator, validate
from kamalnb.sensitive import Secret

if TYPE_CHECKING:
    from kamalnb.config.configuration import Configuration


def machine_arch() -> str:
    """This machine's arch in Docker's words (`amd64`, `arm64`), standing in for the local engine's."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "amd64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    return machine


class Builder(Frozen):
    def __init__(self, config: Configuration, builder_config: dict[str, Any] | None) -> None:
        self.config = config
        self.builder_config: dict[str, Any] = builder_config or {}
        validate(self.builder_config, schema.BUILDER, "builder", BuilderValidator)
        self._freeze()

    def to_h(self) -> dict[str, Any]:
        return dict(self.builder_config)

    @property
    def remote(self) -> str | None:
        return self.builder_config.get("remote")

    @property
    def arches(self) -> list[str]:
        arch = self.builder_config.get("arch", [] if self.docker_driver else ["amd64", "arm64"])
        return [to_s(a) for a in arch] if isinstance(arch, list) else [to_s(arch)]

    def local_arches(self, docker_arch: str) -> list[str]:
        """Arches built locally, given the local Docker engine's arch (`amd64`/`arm64`)."""
        if self.local_disabled:
            return []
        if self.remote:
            return [arch for arch in self.arches if arch == docker_arch]
        return self.arches

    def remote_arches(self, docker_arch: str) -> list[str]:
        if not self.remote:
            return []
        local = self.local_arches(docker_arch)
        return [arch for arch in self.arches if arch not in local]

    def is_remote(self, docker_arch: str) -> bool:
        return bool(self.remote_arches(docker_arch))

    def is_local(self, docker_arch: str) -> bool:
        return not self.local_disabled and (not self.arches or bool(self.local_arches(docker_arch)))

    @property
    def local_disabled(self) -> bool:
        return self.builder_config.get("local") is False

    @property
    def driver(self) -> str:
        return to_s(self.builder_config.get("driver", "docker-container"))

    @property
    def docker_driver(self) -> bool:
        return self.driver == "docker"

    @property
    def cloud(self) -> bool:
        return self.driver.startswith("cloud")

    @property
    def cached(self) -> bool:
        return bool(self.builder_config.get("cache"))

    @property
    def pack(self) -> bool:
        return bool(self.builder_config.get("pack"))

    @property
    def pack_builder(self) -> str | None:
        return self.builder_config["pack"].get("builder") if self.pack else None

    @property
    def pack_buildpacks(self) -> list[str] | None:
        return self.builder_config["pack"].get("buildpacks") if self.pack else None

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.builder_config.get("args") or {})

    @property
    def secrets(self) -> dict[str, Secret]:
        return {str(key): self.config.secrets[str(key)] for key in self.builder_config.get("secrets") or []}

    @property
    def dockerfile(self) -> str:
        return to_s(self.builder_config.get("dockerfile", "Dockerfile"))

    @property
    def target(self) -> str | None:
        return self.builder_config.get("target")

    @property
    def context(self) -> str:
        return to_s(self.builder_config.get("context", "."))

    @property
    def ssh(self) -> str | None:
        return self.builder_config.get("ssh")

    @property
    def provenance(self) -> Any:
        return self.builder_config.get("provenance")

    @property
    def sbom(self) -> Any:
        return self.builder_config.get("sbom")

    @property
    def _cache_image_ref(self) -> str:
        image = either((self.builder_config.get("cache") or {}).get("image"), f"{self.config.image}-build-cache")
        return "/".join(part for part in (self.config.registry.server, image) if part)

    @property
    def _cache_options(self) -> str | None:
        return (self.builder_config.get("cache") or {}).get("options")

    @property
    def cache_from(self) -> str | None:
        if not self.cached:
            return None
        kind = self.builder_config["cache"].get("type")
        if kind == "gha":
            allowed = [
                option for option in (self._cache_options or "").split(",")
                if option.split("=", 1)[0] in ("url", "url_v2", "token", "scope", "timeout") and "=" in option
            ]
            return ",".join(["type=gha", *allowed])
        if kind == "registry":
            return f"type=registry,ref={self._cache_image_ref}"
        return None

    @property
    def cache_to(self) -> str | None:
        if not self.cached:
            return None
        kind = self.builder_config["cache"].get("type")
        options = self._cache_options
        if kind == "gha":
            return ",".join(part for part in ("type=gha", options) if part is not None)
        if kind == "registry":
            parts = ("type=registry", f"ref={self._cache_image_ref}", options)
            return ",".join(part for part in parts if part is not None)
        return None

    @property
    def git_clone(self) -> bool:
        """No `context` in a git repository: Kamal builds from a clean clone of HEAD."""
        return self.builder_config.get("context") is None and self.config.git.used

    @property
    def clone_directory(self) -> str:
        digest = hashlib.sha256(str(self.config.root).encode()).hexdigest()[:13]
        return os.path.join(tempfile.gettempdir(), "kamal-clones", f"{self.config.service}-{digest}")

    @property
    def build_directory(self) -> str:
        if not self.git_clone:
            return "."
        git_root = self.config.git.root or str(self.config.root)
        relative = str(self.config.root)[len(git_root):]
        return os.path.join(self.clone_directory, posixpath.basename(git_root)) + relative

    def __repr__(self) -> str:
        return f"Builder(arch={self.arches}, driver={self.driver!r}, remote={self.remote!r})"
