"""Image builds on the deploying machine: buildx (local, remote, hybrid, cloud) and pack.

Which builder Kamal uses depends on the local Docker engine's architecture, so that is a
parameter (`local_arch`, e.g. from `docker info --format '{{.Architecture}}'`), keeping
these builders free of I/O. The Dockerfile's existence is checked by the build step.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from kamalnb.commands import engine
from kamalnb.commands.base import (
    Command,
    any_of,
    argumentize,
    chain,
    combine,
    command,
    docker,
    flatten,
    pipe,
)
from kamalnb.commands.engine import EngineRequest
from kamalnb.config.ruby import shellescape
from kamalnb.sensitive import Secret

ENDPOINT_DOCKER_HOST_INSPECT = "'{{.Endpoints.docker.Host}}'"
IMAGE_LABELS_BUILDPACK = "paketo-buildpacks/image-labels"


class BuilderBase:
    """Shared by every builder kind; subclasses name the builder and create/remove it."""

    kind = "base"

    def __init__(self, config: Any, local_arch: str) -> None:
        self.config = config
        self.settings = config.builder
        self.local_arch = local_arch

    @property
    def local_arches(self) -> list[str]:
        return self.settings.local_arches(self.local_arch)

    @property
    def remote_arches(self) -> list[str]:
        return self.settings.remote_arches(self.local_arch)

    @property
    def builder_name(self) -> str:
        raise NotImplementedError

    @property
    def local_registry(self) -> bool:
        return self.config.registry.local

    def clean(self) -> Command:
        return docker("image", "rm", "--force", self.config.absolute_image)

    def engine_clean(self) -> EngineRequest:
        return engine.remove_image(self.config.absolute_image, self.clean())

    def push(self, export_action: str = "registry", *, tag_as_dirty: bool = False, no_cache: bool = False) -> Command:
        """`docker buildx build --output=type=<export_action> …`: builds, tags and (for `registry`) pushes."""
        return docker(
            "buildx", "build",
            f"--output=type={export_action}",
            self.platform_options(self.settings.arches),
            None if self.settings.docker_driver else ("--builder", self.builder_name),
            self.build_tag_options(tag_as_dirty),
            self.build_options(),
            "--no-cache" if no_cache else None,
            self.settings.context,
            "2>&1",
        )

    def pull(self) -> Command:
        return docker("pull", self.config.absolute_image)

    def ensure_docker_installed(self) -> Command:
        """Checked on the deploying machine before a build."""
        return combine(docker("--version"), docker("buildx", "version"))

    def plain_build(self, *, tag_as_dirty: bool = False, no_cache: bool = False, context: str | None = None,
                    secret_files: Mapping[str, str] | None = None, dockerfile: str | None = None) -> Command:
        """`docker build` for engines without the buildx plugin: Kamal's tags, label, args, file and
        context, without cache export or multi-arch. Secrets and `ssh` need BuildKit, which
        `DOCKER_BUILDKIT=1` turns on; each secret is read from a file (`secret_files`: name -> path),
        so its value is on no command line. `context="-"` reads the context as a tar on stdin, in
        which `dockerfile` is the Dockerfile's path."""
        settings = self.settings
        return command(
            "DOCKER_BUILDKIT=1" if settings.secrets or settings.ssh else None,
            docker(
                "build",
                self.build_tag_options(tag_as_dirty),
                self._image_options(secret_files, dockerfile),
                "--no-cache" if no_cache else None,
                context or settings.context,
                "2>&1",
            ),
        )

    def push_tags(self, *, tag_as_dirty: bool = False) -> Command:
        """`docker push` of the version tag, then of the latest tag (after a `plain_build`)."""
        return combine(*(docker("push", name) for name in self.build_tag_names(tag_as_dirty)))

    def info(self) -> Command:
        return combine(docker("context", "ls"), docker("buildx", "ls"))

    def inspect_builder(self) -> Command | None:
        return None if self.settings.docker_driver else docker("buildx", "inspect", self.builder_name)

    def create(self) -> Command | None:
        raise NotImplementedError

    def remove(self) -> Command | None:
        raise NotImplementedError

    def build_options(self) -> tuple[str | Secret, ...]:
        """Cache, `service` label, build args (redacted in the display), secrets, file, target, ssh, attestations."""
        settings = self.settings
        cache = None
        if settings.cache_to and settings.cache_from:
            cache = ("--cache-to", settings.cache_to, "--cache-from", settings.cache_from)
        return flatten(
            cache,
            self._image_options(),
            None if settings.provenance is None else argumentize("--provenance", _flag_value(settings.provenance)),
            None if settings.sbom is None else argumentize("--sbom", _flag_value(settings.sbom)),
        )

    def _image_options(self, secret_files: Mapping[str, str] | None = None,
                       dockerfile: str | None = None) -> tuple[str | Secret, ...]:
        settings = self.settings
        if secret_files is None:
            secrets = argumentize("--secret", [("id", name) for name in settings.secrets])
        else:
            secrets = flatten([("--secret", shlex.quote(f"id={name},src={path}"))
                               for name, path in secret_files.items()])
        return flatten(
            argumentize("--label", {"service": self.config.service}),
            argumentize("--build-arg", settings.args, sensitive=True),
            secrets,
            argumentize("--file", dockerfile or settings.dockerfile),
            argumentize("--target", settings.target) if settings.target else None,
            argumentize("--ssh", settings.ssh) if settings.ssh else None,
        )

    def validate_image(self) -> Command:
        """Fails unless the pulled image carries this service's `service` label."""
        image = self.config.absolute_image
        return pipe(
            docker("inspect", "-f", "'{{ .Config.Labels.service }}'", image),
            any_of(
                command("grep", "-x", self.config.service),
                f"(echo \"Image {image} is missing the 'service' label\" && exit 1)",
            ),
        )

    def first_mirror(self) -> Command:
        return docker("info", "--format '{{index .RegistryConfig.Mirrors 0}}'")

    def login_to_registry_locally(self) -> bool:
        return True

    def push_env(self) -> dict[str, str]:
        return {}

    def build_tag_names(self, tag_as_dirty: bool = False) -> list[str]:
        names = [self.config.absolute_image, self.config.latest_image]
        return [f"{name}-dirty" for name in names] if tag_as_dirty else names

    def build_tag_options(self, tag_as_dirty: bool = False) -> tuple[str, ...]:
        return tuple(word for name in self.build_tag_names(tag_as_dirty) for word in ("-t", name))

    def driver_options(self) -> tuple[str, ...]:
        return ("--driver-opt", "network=host") if self.local_registry else ()

    @staticmethod
    def platform_options(arches: Sequence[str]) -> tuple:
        if not arches:
            return ()
        return argumentize("--platform", ",".join(f"linux/{arch}" for arch in arches))


def _flag_value(value: Any) -> str:
    # `provenance: false` must reach buildx as the word `false`, not be dropped as blank.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Local(BuilderBase):
    kind = "local"

    @property
    def builder_name(self) -> str:
        if self.local_registry:
            return f"kamal-local-registry-{self.settings.driver}"
        return f"kamal-local-{self.settings.driver}"

    def create(self) -> Command | None:
        if self.settings.docker_driver:
            return None
        return docker(
            "buildx", "create", "--name", self.builder_name, f"--driver={self.settings.driver}", self.driver_options()
        )

    def remove(self) -> Command | None:
        return None if self.settings.docker_driver else docker("buildx", "rm", self.builder_name)


class Remote(BuilderBase):
    kind = "remote"

    @property
    def builder_name(self) -> str:
        return f"kamal-remote-{self.remote_builder_name_suffix}"

    @property
    def remote_builder_name_suffix(self) -> str:
        suffix = re.sub(r"[^a-z0-9_-]", "-", self.settings.remote or "")
        return f"{suffix}-local-registry" if self.local_registry else suffix

    @property
    def remote_context_name(self) -> str:
        return f"{self.builder_name}-context"

    def create(self) -> Command | None:
        return chain(self.create_remote_context(), self.create_buildx())

    def remove(self) -> Command | None:
        return chain(docker("context", "rm", self.remote_context_name), docker("buildx", "rm", self.builder_name))

    def info(self) -> Command:
        return chain(docker("context", "ls"), docker("buildx", "ls"))

    def inspect_builder(self) -> Command | None:
        return combine(
            combine(self.inspect_buildx(), self.inspect_remote_context()),
            "(echo no compatible builder && exit 1)",
            by="||",
        )

    def login_to_registry_locally(self) -> bool:
        return False

    def push_env(self) -> dict[str, str]:
        return {"BUILDKIT_NO_CLIENT_TOKEN": "1"}

    def inspect_buildx(self) -> Command:
        return pipe(
            docker("buildx", "inspect", self.builder_name),
            command("grep", "-q", f"Endpoint:.*{self.remote_context_name}"),
        )

    def inspect_remote_context(self) -> Command:
        return pipe(
            docker("context", "inspect", self.remote_context_name, "--format", ENDPOINT_DOCKER_HOST_INSPECT),
            command("grep", "-xq", self.settings.remote),
        )

    def create_remote_context(self) -> Command:
        return docker(
            "context", "create", self.remote_context_name,
            "--description", f"'{self.builder_name} host'",
            "--docker", f"'host={self.settings.remote}'",
        )

    def create_buildx(self) -> Command:
        return docker("buildx", "create", "--name", self.builder_name, self.driver_options(), self.remote_context_name)


class Hybrid(Remote):
    kind = "hybrid"

    @property
    def builder_name(self) -> str:
        return f"kamal-hybrid-{self.settings.driver}-{self.remote_builder_name_suffix}"

    def create(self) -> Command | None:
        return combine(self.create_local_buildx(), self.create_remote_context(), self.append_remote_buildx())

    def create_local_buildx(self) -> Command:
        return docker(
            "buildx", "create", self.platform_options(self.local_arches),
            "--name", self.builder_name, f"--driver={self.settings.driver}", self.driver_options(),
        )

    def append_remote_buildx(self) -> Command:
        return docker(
            "buildx", "create", self.platform_options(self.remote_arches),
            "--append", "--name", self.builder_name, self.driver_options(), self.remote_context_name,
        )


class Cloud(BuilderBase):
    """Docker Build Cloud: `driver: cloud <org>/<builder>`."""

    kind = "cloud"

    @property
    def builder_name(self) -> str:
        return re.sub(r"[ /]", "-", self.settings.driver)

    def create(self) -> Command | None:
        return docker("buildx", "create", "--driver", self.settings.driver)

    def remove(self) -> Command | None:
        return docker("buildx", "rm", self.builder_name)


class Pack(BuilderBase):
    """Cloud Native Buildpacks via `pack build`, then `docker push` of both tags."""

    kind = "pack"

    @property
    def builder_name(self) -> str:
        return self.settings.pack_builder or ""

    def push(self, export_action: str = "registry", *, tag_as_dirty: bool = False, no_cache: bool = False) -> Command:
        return combine(self.build(tag_as_dirty=tag_as_dirty, no_cache=no_cache), self.export(export_action))

    def create(self) -> Command | None:
        return None

    def remove(self) -> Command | None:
        return None

    def info(self) -> Command:
        return command("pack", "builder", "inspect", self.settings.pack_builder)

    def inspect_builder(self) -> Command | None:
        return self.info()

    def build(self, *, tag_as_dirty: bool = False, no_cache: bool = False) -> Command:
        """`pack build`; build secrets are passed as `--env NAME="value"`, redacted in the display."""
        arch = self.local_arches[0] if self.local_arches else self.settings.arches[0]
        return command(
            "pack", "build", self.config.repository,
            "--platform", f"linux/{arch}",
            "--creation-time", "now",
            "--builder", self.settings.pack_builder,
            [("--buildpack", pack) for pack in (*(self.settings.pack_buildpacks or ()), IMAGE_LABELS_BUILDPACK)],
            self.build_tag_options(tag_as_dirty),
            "--clear-cache" if no_cache else None,
            "--env", f"BP_IMAGE_LABELS=service={self.config.service}",
            argumentize("--env", self.settings.args),
            argumentize("--env", self.settings.secrets, sensitive=True),
            "--path", self.settings.context,
        )

    def export(self, export_action: str) -> Command | None:
        if export_action != "registry":
            return None
        return combine(docker("push", self.config.absolute_image), docker("push", self.config.latest_image))


class Clone:
    """Builds from a clean git clone of HEAD, as Kamal does when `builder.context` is unset.

    Paths are escaped with Ruby's `Shellwords.escape`, as Kamal escapes them.
    """

    def __init__(self, config: Any, git_root: str) -> None:
        self.config = config
        self.git_root = git_root

    @staticmethod
    def _git(*args: str, path: str | None = None) -> Command:
        return command("git", ("-C", path) if path else None, *args)

    @property
    def _build_directory(self) -> str:
        return shellescape(self.config.builder.build_directory)

    def clone(self) -> Command:
        return self._git(
            "clone", shellescape(self.git_root), "--recurse-submodules",
            path=shellescape(self.config.builder.clone_directory),
        )

    def clone_reset_steps(self, revision: str) -> list[Command]:
        """Bring an existing clone to `revision` (the local HEAD) and drop everything else."""
        path = self._build_directory
        return [
            self._git("remote", "set-url", "origin", shellescape(self.git_root), path=path),
            self._git("fetch", "origin", path=path),
            self._git("reset", "--hard", revision, path=path),
            self._git("clean", "-fdx", path=path),
            self._git("submodule", "update", "--init", path=path),
            self._git("gc", "--auto", "--quiet", path=path),
        ]

    def clone_status(self) -> Command:
        return self._git("status", "--porcelain", path=self._build_directory)

    def clone_revision(self) -> Command:
        return self._git("rev-parse", "HEAD", path=self._build_directory)


def builder_for(config: Any, *, local_arch: str) -> BuilderBase:
    """The builder Kamal would pick: hybrid/remote when some arch must build remotely, else pack, cloud or local.

    `local_arch` is the local Docker engine's architecture (`amd64`, `arm64`).
    """
    settings = config.builder
    if settings.is_remote(local_arch):
        return (Hybrid if settings.is_local(local_arch) else Remote)(config, local_arch)
    if settings.pack:
        return Pack(config, local_arch)
    if settings.cloud:
        return Cloud(config, local_arch)
    return Local(config, local_arch)
