"""Building the image: Kamal's `build push`, `dev`, `create`, `remove` and `details`.

With the buildx plugin the build runs Kamal's exact `docker buildx` lines (local, remote,
hybrid, cloud builders). Without it (Debian's docker.io) an image is built with `docker
build`, either on this machine's engine or, for `builder.remote: ssh://user@host`, on that
host's engine, which then pushes it. Whatever one engine cannot do (several arches, another
arch than its own, a cache export, a non-ssh remote) is refused before anything is built.

Remote builds send the context as a tar over kamalnb's own SSH connection to `docker build -`
on the builder host, rather than pointing this machine's docker CLI at `ssh://`. Measured on
the sandbox (bench/remote_build.py, the sample app, 5 runs): a cached rebuild takes a median
0.5 s streamed against 1.9 s through the CLI, which starts `ssh` and `docker system
dial-stdio` on each call; a build without cache takes the same 4.8 s both ways. Beyond speed,
the CLI's `ssh://` uses the system's `ssh` with ~/.ssh/config, not deploy.yml's `ssh:`
settings, and builds with this machine's docker client and pushes with this machine's
registry credentials; streamed, the host's own client builds, logs in and pushes.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shlex
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kamalnb import facts
from kamalnb.commands import Docker, Registry, builder_for
from kamalnb.commands.base import Command, command, docker
from kamalnb.commands.builder import BuilderBase, Clone
from kamalnb.config.builder import machine_arch
from kamalnb.errors import CommandFailed, ConfigError, HostError
from kamalnb.events import Event, Events, OutputLine, Phase
from kamalnb.executors.base import Executor, LocalRunner
from kamalnb.facts import Read
from kamalnb.results import HostOutcome, Outputs, Report, StepRecorder
from kamalnb.sensitive import reveal
from kamalnb.steps.context import LOCAL, StepContext

if TYPE_CHECKING:
    from kamalnb.config import Configuration

# Without buildx, `docker build` can only keep the image in the engine (`docker`) or push it.
PLAIN_OUTPUTS = ("registry", "docker")


@dataclass(frozen=True)
class Route:
    """Where one build runs: Kamal's buildx lines, `docker build` here, or on a builder host."""

    kind: str  # "buildx", "local" or "remote"
    host: str = LOCAL  # the builder host, for "remote"
    arch: str | None = None  # the one arch a plain build makes, when deploy.yml names it
    user: str | None = None  # the builder host's SSH user and port, from `ssh://user@host:port`
    port: int | None = None

    @property
    def description(self) -> str:
        if self.kind == "buildx":
            return "docker buildx"
        where = "this machine's engine" if self.kind == "local" else f"the engine of {self.host}"
        return f"docker build on {where}"


def route(config: Configuration, *, buildx: bool, local_arch: str, output: str = "registry") -> Route:
    """Which engine builds, or a ConfigError naming what no engine here can do and the fix."""
    settings = config.builder
    if settings.pack:
        return Route("buildx")
    if buildx:
        if settings.docker_driver and settings.cached:
            raise ConfigError("builder/cache: buildx's `docker` driver cannot export a build cache: remove "
                              "builder/driver (Kamal's default, docker-container, can) or builder/cache")
        if settings.docker_driver and len(settings.arches) > 1:
            raise ConfigError(f"builder/arch asks for {', '.join(settings.arches)} in one image, which buildx's "
                              "`docker` driver cannot build: remove builder/driver (docker-container can), or "
                              "build one arch")
        return Route("buildx")
    missing = "this machine's docker has no buildx plugin (`docker buildx version` fails)"
    for key, used in (("cache", settings.cached), ("provenance", settings.provenance is not None),
                      ("sbom", settings.sbom is not None)):
        if used:
            raise ConfigError(f"builder/{key} needs docker buildx, and {missing}: install the buildx plugin, "
                              f"or remove builder/{key}")
    if settings.cloud:
        raise ConfigError(f"builder/driver {settings.driver!r} (Docker Build Cloud) needs docker buildx, and "
                          f"{missing}: install the buildx plugin")
    if output not in PLAIN_OUTPUTS:
        raise ConfigError(f"--output {output} needs docker buildx, and {missing}: without it a build can only "
                          f"push (registry) or keep the image in the engine (docker)")
    arches = settings.arches
    if len(arches) > 1:
        raise ConfigError(f"builder/arch asks for {', '.join(arches)} in one image, which needs docker buildx, and "
                          f"{missing}: install the buildx plugin, or build one arch")
    arch = arches[0] if arches else None
    if settings.remote and (settings.local_disabled or settings.is_remote(local_arch)):
        return dataclasses.replace(_remote(settings.remote), arch=arch)
    if arch is not None and arch != local_arch:
        raise ConfigError(f"builder/arch is {arch}, but this machine's engine builds {local_arch} images and {missing} "
                          f"to build another arch: set builder/remote to ssh://user@host of an {arch} host")
    return Route("local", LOCAL, arch)


def _remote(url: str) -> Route:
    """`builder.remote` (`ssh://user@host:port`) as the route to that host."""
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise ConfigError(f"builder/remote is {url!r}: without docker buildx, kamalnb builds remotely over SSH only; "
                          "write ssh://user@host, or install the buildx plugin")
    return Route("remote", parts.hostname, user=parts.username, port=parts.port)


# ---- probes --------------------------------------------------------------------------------------

def _arch_of(text: str) -> str:
    arch = text.strip().lower()
    if not arch:
        raise ValueError("`docker info` printed no architecture")
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)


def engine_arch(client: str = "docker") -> Read[str]:
    """The arch of the images an engine builds natively (`docker info`'s Architecture)."""
    return Read("engine_arch", with_client(docker("info", "--format", "'{{.Architecture}}'"), client),
                lambda result: _arch_of(result.check().stdout))


def buildkit_usable(client: str = "docker") -> Read[bool]:
    """Whether `docker build` can use BuildKit: a docker 23+ client needs buildx for it, an older
    one (Debian's 20.10) has it built in."""
    return Read("buildkit_usable", with_client(command("DOCKER_BUILDKIT=1", docker("build", "--help")), client),
                lambda result: result.ok)


def with_client(built: Command, client: str) -> Command:
    """`built` run by the docker client `x-kamalnb: build_docker` names."""
    if client == "docker":
        return built
    quoted = shlex.quote(client)
    return dataclasses.replace(built, words=tuple(quoted if word == "docker" else word for word in built.words))


# ---- the steps -------------------------------------------------------------------------------------

def build(context: StepContext, *, no_cache: bool = False, output: str = "registry") -> Report:
    """Kamal's `build push`: the image tagged with the version and latest, with the `service`
    label, built from a clean clone of git HEAD (or `builder.context`) and pushed."""
    return _build(context, no_cache=no_cache, output=output, dirty=False)


def dev(context: StepContext, *, no_cache: bool = False, output: str = "docker") -> Report:
    """Kamal's `build dev`: the working tree as it is, tagged `<version>-dirty`, kept in the engine."""
    return _build(context, no_cache=no_cache, output=output, dirty=True)


def _build(context: StepContext, *, no_cache: bool, output: str, dirty: bool) -> Report:
    config = context.config
    recorder = StepRecorder("build", context.events, [LOCAL], planned=context.plan)
    with recorder.host(LOCAL, Phase.BUILD) as outcome:
        # Kamal builds from the project's root: `--file <dockerfile>` is relative to it.
        dockerfile = Path(config.root) / config.builder.dockerfile
        if not dockerfile.exists():
            raise HostError(LOCAL, f"no Dockerfile at {dockerfile}: create it, or set builder/dockerfile")
        local_arch = machine_arch()
        buildx = context.local.read(LOCAL, facts.buildx_installed(Docker()))
        where = route(config, buildx=buildx, local_arch=local_arch, output=output)
        builder = builder_for(config, local_arch=local_arch)
        with _executor_for(context, where) as executor:
            _check_engine(context, executor, where)
            if dirty:
                _warn_dev_files(context)
                directory = str(config.root)
            else:
                _login(context, executor, where, builder, outcome, output)
                context.hook("pre-build")
                directory = _sources(context, outcome)
            if where.kind == "buildx":
                _buildx(context, builder, directory, outcome, output=output, no_cache=no_cache, dirty=dirty)
            else:
                _plain(context, executor, where, builder, directory, outcome, output=output, no_cache=no_cache,
                       dirty=dirty)
        outcome.version_after = config.version
    return recorder.finish().raise_on_failure()


def _check_engine(context: StepContext, executor: Executor | LocalRunner, where: Route) -> None:
    """What only the engine can tell, asked before anything is built."""
    settings = context.config.builder
    client = context.extension.build_docker
    if where.kind == "buildx" or context.plan:
        return
    if where.arch is not None:
        arch = executor.read(where.host, engine_arch(client))
        if arch != where.arch:
            raise HostError(where.host, f"builder/arch is {where.arch}, but the engine of {where.host} builds "
                                        f"{arch} images and has no buildx to build another arch: set builder/remote "
                                        f"to an {where.arch} host")
    if (settings.secrets or settings.ssh) and not executor.read(where.host, buildkit_usable(client)):
        what = "builder/secrets" if settings.secrets else "builder/ssh"
        raise HostError(where.host, f"{what} need BuildKit, and the docker client on {where.host} ({client}) has "
                                    "neither the buildx plugin nor BuildKit built in (`DOCKER_BUILDKIT=1 docker "
                                    "build` fails): install the buildx plugin there, or name a client that has "
                                    "BuildKit in x-kamalnb/build_docker")


def _login(context: StepContext, executor: Executor | LocalRunner, where: Route, builder: BuilderBase,
           outcome: HostOutcome, output: str) -> None:
    registry = Registry(context.config)
    login = registry.login()
    if where.kind == "remote":
        # The builder host pushes, so it is the one that logs in.
        if output == "registry" and login is not None:
            outcome.record(executor.run(where.host, login))
        return
    if where.kind == "buildx" and not builder.login_to_registry_locally():
        return
    # A local registry is a container on this machine, started before the push as Kamal does.
    outcome.record(context.local.run(LOCAL, registry.setup() if login is None else login))


def _sources(context: StepContext, outcome: HostOutcome) -> str:
    """The directory to build in: a clean clone of HEAD (Kamal's default) or the project's,
    warning about uncommitted changes as Kamal does."""
    config = context.config
    settings = config.builder
    changes = config.git.uncommitted_changes if config.git.used else ""
    if not settings.git_clone:
        if changes:
            _say(context, f"Building with uncommitted changes:\n {changes}")
        return str(config.root)
    if changes:
        _say(context, f"Building from a local git clone, so ignoring these uncommitted changes:\n {changes}")
    _prepare_clone(context, outcome)
    return settings.build_directory


def _prepare_clone(context: StepContext, outcome: HostOutcome) -> None:
    """Kamal's `Clone#prepare`: clone, or bring the existing clone to HEAD; on any doubt, clone anew."""
    config = context.config
    settings = config.builder
    git = config.git
    clone = Clone(config, git.root or str(config.root))
    local = context.local
    try:
        if os.path.isdir(settings.build_directory):
            _say(context, f"Resetting local clone as `{settings.build_directory}` already exists...", warning=False)
            for step in clone.clone_reset_steps(git.revision):
                outcome.record(local.run(LOCAL, step))
        else:
            _clone(context, clone, outcome)
        _validate_clone(context, clone, outcome)
    except (CommandFailed, HostError) as error:
        _say(context, f"Error preparing clone: {error}, deleting and retrying...")
        shutil.rmtree(settings.clone_directory, ignore_errors=True)
        _clone(context, clone, outcome)
        _validate_clone(context, clone, outcome)


def _clone(context: StepContext, clone: Clone, outcome: HostOutcome) -> None:
    settings = context.config.builder
    _say(context, f"Cloning repo into build directory `{settings.build_directory}`...", warning=False)
    if not context.plan:
        os.makedirs(settings.clone_directory, exist_ok=True)
    outcome.record(context.local.run(LOCAL, clone.clone()))


def _validate_clone(context: StepContext, clone: Clone, outcome: HostOutcome) -> None:
    if context.plan:
        return
    directory = context.config.builder.build_directory
    status = outcome.record(context.local.run(LOCAL, clone.clone_status())).stdout.strip()
    if status:
        raise HostError(LOCAL, f"Clone in {directory} is dirty, {status}")
    revision = outcome.record(context.local.run(LOCAL, clone.clone_revision())).stdout.strip()
    expected = context.config.git.revision
    if revision != expected:
        raise HostError(LOCAL, f"Clone in {directory} is not on the correct revision, expected `{expected}` "
                               f"but got `{revision}`")


def _warn_dev_files(context: StepContext) -> None:
    """Kamal's `build dev` warnings: uncommitted and untracked files the build context holds."""
    config = context.config
    if not config.git.used:
        return
    root = Path(config.root)
    context_dir = root / config.builder.context
    ignore = _ignore_patterns(context_dir)
    uncommitted: list[str] = []
    untracked: list[str] = []
    for line in config.git.uncommitted_changes.splitlines():
        status, path = line[:2], line[3:].split(" -> ")[-1].strip('"')
        relative = os.path.relpath(root / path, context_dir)
        if relative.startswith("..") or _ignored(relative, ignore):
            continue
        (untracked if status == "??" else uncommitted).append(path)
    for title, files in (("Files with uncommitted changes", uncommitted), ("Untracked files", untracked)):
        if files:
            _say(context, "\n".join([f"WARNING: {title} will be present in the dev container:",
                                     *(f"  {path}" for path in sorted(files))]))


def _say(context: StepContext, text: str, *, warning: bool = True) -> None:
    """A line on the local row: a warning (Kamal's yellow `say`) or, with `warning=False`, news."""
    for line in text.splitlines():
        context.events.emit(OutputLine(LOCAL, "stderr" if warning else "stdout", line))


# ---- the two ways to build -------------------------------------------------------------------------

def _buildx(context: StepContext, builder: BuilderBase, directory: str, outcome: HostOutcome, *, output: str,
            no_cache: bool, dirty: bool) -> None:
    """Kamal's lines: make sure the buildx builder exists, then `docker buildx build` in the build directory."""
    local = _local_in(context, directory)
    # As Kamal's `with_env(secrets)`: `--secret id=NAME` reads the value from the environment.
    env = {**builder.push_env(), **{name: reveal(value) for name, value in context.config.builder.secrets.items()}}
    if not dirty:
        inspect = builder.inspect_builder()
        if inspect is not None and not local.run(LOCAL, inspect, check=False).ok:
            _say(context, "Missing compatible builder, so creating a new one first")
            remove = builder.remove()
            if remove is not None:
                local.run(LOCAL, remove, check=False)
            create = builder.create()
            if create is not None:
                outcome.record(local.run(LOCAL, create))
    outcome.record(local.run(LOCAL, builder.push(output, tag_as_dirty=dirty, no_cache=no_cache), env=env))


def _plain(context: StepContext, executor: Executor | LocalRunner, where: Route, builder: BuilderBase,
           directory: str, outcome: HostOutcome, *, output: str, no_cache: bool, dirty: bool) -> None:
    """`docker build` on the chosen engine, then `docker push` of both tags from there."""
    config = context.config
    client = context.extension.build_docker
    with _secret_files(context, executor, where) as secret_files:
        if where.kind == "local":
            run = _local_in(context, directory).run
            outcome.record(run(LOCAL, with_client(builder.plain_build(
                tag_as_dirty=dirty, no_cache=no_cache, secret_files=secret_files), client)))
        else:
            _say(context, f"Building on {where.host} with its own engine", warning=False)
            settings = config.builder
            tar = b"" if context.plan else context_tar(Path(directory), settings.context, settings.dockerfile)
            # In the tar, the Dockerfile's path is relative to the context's root.
            dockerfile = os.path.relpath(os.path.join(directory, settings.dockerfile),
                                         os.path.join(directory, settings.context))
            build = builder.plain_build(tag_as_dirty=dirty, no_cache=no_cache, context="-", secret_files=secret_files,
                                        dockerfile=dockerfile)
            outcome.record(executor.run(where.host, dataclasses.replace(with_client(build, client), stdin=tar)))
    if output != "registry":
        return
    port = config.registry.local_port
    # A local registry is on this machine: the builder host reaches it through its SSH connection.
    forward = executor.forward_to_local(where.host, port) if where.kind == "remote" and port is not None \
        and isinstance(executor, Executor) else nullcontext()
    with forward:
        outcome.record(executor.run(where.host, with_client(builder.push_tags(tag_as_dirty=dirty), client)))


@contextmanager
def _secret_files(context: StepContext, executor: Executor | LocalRunner, where: Route) -> Iterator[dict[str, str]]:
    """Each build secret in a file only its owner reads, on the building machine, for the
    build's duration: BuildKit mounts it for `RUN --mount=type=secret`, and no layer, image
    history or command line holds it."""
    secrets = context.config.builder.secrets
    if not secrets:
        yield {}
        return
    if where.kind == "local":
        directory = "/tmp/kamalnb-build-secrets" if context.plan else tempfile.mkdtemp(prefix="kamalnb-build-secrets-")
        try:
            files = {}
            for name, value in secrets.items():
                path = os.path.join(directory, name)
                if not context.plan:
                    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "w") as handle:
                        handle.write(reveal(value))
                files[name] = path
            yield files
        finally:
            if not context.plan:
                shutil.rmtree(directory, ignore_errors=True)
        return
    assert isinstance(executor, Executor)
    made = executor.run(where.host, command("mktemp", "-d", "-t", "kamalnb-build-secrets.XXXXXXXX"))
    directory = made.stdout.strip() or "/tmp/kamalnb-build-secrets"
    try:
        files = {}
        for name, value in secrets.items():
            files[name] = f"{directory}/{name}"
            executor.upload(where.host, value, files[name], mode=0o600)
        yield files
    finally:
        executor.run(where.host, command("rm", "-rf", directory), check=False)


def _local_in(context: StepContext, directory: str) -> LocalRunner:
    """This machine's runner, working in `directory` (the build directory, as Kamal's chdir)."""
    from kamalnb.executors.local import LocalExecutor

    local = context.local
    if not isinstance(local, LocalExecutor) or os.path.realpath(directory) == os.path.realpath(str(local.cwd or ".")):
        return local
    return LocalExecutor(events=local.events, cwd=directory, env=local.env, command_timeout=local.command_timeout)


@contextmanager
def _executor_for(context: StepContext, where: Route) -> Iterator[Executor | LocalRunner]:
    """The runner for the building engine. A builder host's commands and output show on the
    local row, where the build is followed, through a connection of their own."""
    if where.kind != "remote":
        yield context.local
        return
    if context.plan:
        with context.phase(where.host, Phase.BUILD):
            yield context.executor
        return
    context.executor  # noqa: B018 (the pre-connect hook runs before the first connection, as Kamal's)
    from kamalnb.executors.settings import settings_from_config
    from kamalnb.executors.ssh import SshExecutor

    # As Kamal reaches the builder: the URL's user and port, no jump host.
    settings = settings_from_config(context.config)
    settings = dataclasses.replace(settings, user=where.user or settings.user, port=where.port, proxy=None,
                                   proxy_command=None)
    relay = Events(lambda event: context.events.emit(_on_local_row(event)))
    with SshExecutor(settings, events=relay) as executor:
        yield executor


def _on_local_row(event: Event) -> Event:
    return dataclasses.replace(event, host=LOCAL) if hasattr(event, "host") else event  # type: ignore[call-arg]


# ---- the context a builder host receives --------------------------------------------------------

def context_tar(directory: Path, context: str, dockerfile: str) -> bytes:
    """The build context as `docker build` sends it: the files of `context` (relative to
    `directory`) less those `.dockerignore` excludes, owned by root; the Dockerfile and
    `.dockerignore` always go."""
    root = (directory / context).resolve()
    file = (directory / dockerfile).resolve()
    if root not in file.parents:
        raise ConfigError(f"builder/dockerfile {dockerfile} is outside builder/context {context}: a remote build "
                          "sends only the context; move the Dockerfile into it")
    patterns = _ignore_patterns(root)
    keep = {str(file.relative_to(root)), ".dockerignore"}
    buffer = io.BytesIO()
    # GNU headers, not PAX: docker recognises a tar on stdin by its first header, which a PAX
    # extended header would push past the bytes it peeks at.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(_walk(root, patterns, keep)):
            info = tar.gettarinfo(str(root / path), arcname=path)
            info.uid = info.gid = 0
            info.mtime = int(info.mtime)
            info.uname = info.gname = ""
            if info.isfile():
                with open(root / path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return buffer.getvalue()


def _walk(root: Path, patterns: list[tuple[bool, re.Pattern[str]]], keep: set[str]) -> Iterator[str]:
    for current, directories, files in os.walk(root):
        base = os.path.relpath(current, root)
        for name in [*directories, *files]:
            path = name if base == "." else f"{base}/{name}"
            if path in keep or not _ignored(path, patterns):
                yield path


def _ignore_patterns(root: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """`.dockerignore` lines as (exception, regex), in order: the last pattern that matches wins."""
    try:
        lines = (root / ".dockerignore").read_text().splitlines()
    except OSError:
        return []
    patterns = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        patterns.append((exception, re.compile(regex.replace("\0/", "(.*/)?").replace("\0", ".*") + "$")))
    return patterns


def _ignored(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: a pattern that matches a directory excludes everything under it."""
    parts = path.split("/")
    candidates = ["/".join(parts[:index]) for index in range(1, len(parts) + 1)]
    ignored = False
    for exception, pattern in patterns:
        if any(pattern.match(candidate) for candidate in candidates):
            ignored = not exception
    return ignored


# ---- builder management ------------------------------------------------------------------------------

def _buildx_only(context: StepContext, verb: str) -> BuilderBase:
    builder = builder_for(context.config, local_arch=machine_arch())
    if not context.local.read(LOCAL, facts.buildx_installed(Docker())):
        raise ConfigError(f"build {verb} manages a docker buildx builder, and this machine's docker has no buildx "
                          "plugin: kamalnb builds with `docker build`, which needs no builder "
                          "(`kamalnb build details` says where)")
    return builder


def create(context: StepContext) -> Report:
    """Kamal's `build create`: the buildx builder (and for a remote one, its docker context)."""
    builder = _buildx_only(context, "create")
    recorder = StepRecorder("build create", context.events, [LOCAL], planned=context.plan)
    with recorder.host(LOCAL, Phase.BUILD) as outcome:
        if context.config.builder.remote:
            # As Kamal's `build create`: the builder host must be reachable first.
            remote = _remote(context.config.builder.remote)
            with _executor_for(context, remote) as executor:
                outcome.record(executor.run(remote.host, command("true")))
        create_builder = builder.create()
        if create_builder is not None:
            outcome.record(context.local.run(LOCAL, create_builder))
    return recorder.finish().raise_on_failure()


def remove(context: StepContext) -> Report:
    """Kamal's `build remove`: the buildx builder and its docker context."""
    builder = _buildx_only(context, "remove")
    recorder = StepRecorder("build remove", context.events, [LOCAL], planned=context.plan)
    with recorder.host(LOCAL, Phase.BUILD) as outcome:
        remove_builder = builder.remove()
        if remove_builder is not None:
            outcome.record(context.local.run(LOCAL, remove_builder))
    return recorder.finish().raise_on_failure()


def details(context: StepContext) -> Outputs:
    """Kamal's `build details`: the builder's name and `docker context ls` / `docker buildx ls`;
    without buildx, which engine builds and what it is."""
    config = context.config
    local_arch = machine_arch()
    builder = builder_for(config, local_arch=local_arch)
    buildx = context.local.read(LOCAL, facts.buildx_installed(Docker()))
    if buildx:
        result = context.local.run(LOCAL, builder.info(), check=False)
        text = f"Builder: {builder.kind}\n{result.stdout}"
    else:
        try:
            text = f"Builder: {route(config, buildx=False, local_arch=local_arch).description}\n"
        except ConfigError as error:
            return Outputs("build details", {}, {LOCAL: str(error)})
        result = context.local.run(LOCAL, docker("context", "ls"), check=False)
        text += result.stdout
    errors = {} if result.ok else {LOCAL: result.stderr.strip() or f"exit status {result.exit_status}"}
    return Outputs("build details", {LOCAL: text}, errors)
