"""Everything a deploy can check before any host changes, checked for all hosts at once.

Before the lock is taken and before anything is pulled: every secret the env files and the
registry login need is defined; the image is in the registry when the build is skipped;
each host answers over SSH, runs a Docker engine, and has room for the image and for
`~/.kamal`. Two quick questions per host (`kamalnb.commands.preflight`), all hosts and the
registry in parallel; every failure found is reported at once, host by host, with its cause
and fix.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from kamalnb import facts
from kamalnb.commands.docker import Docker
from kamalnb.commands.preflight import host_check, space_check
from kamalnb.errors import ConfigError, HostError, HostsFailed, HostUnreachable
from kamalnb.events import Phase
from kamalnb.facts import EngineInfo, Read, parse_df_available
from kamalnb.results import Result
from kamalnb.sensitive import Secret, reveal
from kamalnb.steps.context import LOCAL, StepContext

# Room a pull needs at least where Docker keeps images, and `~/.kamal` for env files, the
# lock and the audit log. A pull of a large image may need more; a host below these fails.
MIN_DOCKER_FREE = 64 * 2**20
MIN_KAMAL_FREE = 1 * 2**20
# Where a plan, which asks no engine, shows the room for images checked: Docker's default.
PLANNED_DOCKER_ROOT = "/var/lib/docker"

_checked: weakref.WeakSet[StepContext] = weakref.WeakSet()


@dataclass(frozen=True)
class HostCheck:
    """What a host answered to `host_check()`."""

    docker_status: int
    docker_output: str
    docker_root: str | None
    docker_free: int | None
    kamal_free: int | None


def _sections(result: Result) -> dict[str, str]:
    sections: dict[str, list[str]] = {"docker": [], "info": [], "root": [], "kamal": []}
    for line in result.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in sections:
            sections[tag].append(rest)
    return {tag: "\n".join(lines) for tag, lines in sections.items()}


def parse_host_check(result: Result) -> HostCheck:
    sections = _sections(result)
    if not sections["docker"]:
        raise ValueError(f"no answer from the checks: {(result.stdout + result.stderr).strip()[:200]!r}")
    status = int(sections["docker"].splitlines()[0])
    output = sections["info"].strip()
    root = output.partition("|")[2].strip() or None if status == 0 else None
    return HostCheck(status, output, root, parse_df_available(sections["root"]), parse_df_available(sections["kamal"]))


def host_read(run_directory: str) -> Read[HostCheck]:
    return Read("preflight", host_check(run_directory), parse_host_check)


def space_read(engine: EngineInfo, run_directory: str) -> Read[HostCheck]:
    """The room left, on an engine that answered."""

    def parse(result: Result) -> HostCheck:
        sections = _sections(result)
        return HostCheck(0, f"{engine.server_version}|{engine.docker_root}", engine.docker_root,
                         parse_df_available(sections["root"]), parse_df_available(sections["kamal"]))

    return Read("preflight", space_check(engine.docker_root, run_directory), parse)


def check(context: StepContext, *, skip_push: bool = False, docker_required: bool = True,
          accessories: bool = False) -> None:
    """Refuse, before anything changes, what would fail later on some host: the app hosts,
    and with `accessories` the accessories' hosts too. Checked once per step: a deploy inside
    setup is not checked again. `docker_required=False` lets a host without Docker through
    (setup installs it); a stopped engine is refused either way."""
    if context in _checked:
        return
    config = context.config
    # The version is read (and refused when Docker would not take it as a tag) here, first.
    if not config.version:
        raise ConfigError("no version to deploy: commit, or give --version")
    check_secrets(context, accessories=accessories)
    hosts = list(config.specifics.hosts if accessories else config.specifics.app_hosts)
    with_image = [LOCAL] if skip_push else []

    def on(item: str) -> None:
        if item == LOCAL:
            check_image(context)
        else:
            with context.phase(item, Phase.PREFLIGHT):
                check_host(context, item, docker_required=docker_required)

    outcomes = context.parallel([*hosts, *with_image], on)
    if outcomes.errors:
        raise HostsFailed("Checks before any change", list(outcomes.errors.values()))
    _checked.add(context)


def check_secrets(context: StepContext, *, accessories: bool = False) -> None:
    """Every secret an env file or the registry login will need: for every role on every
    host, and with `accessories` for every accessory."""
    config = context.config
    secrets = config.secrets
    problems: list[str] = []
    defined = set(secrets.keys())
    envs = [(f"role {role.name}", role.env(host)) for host, role in config.specifics.role_hosts]
    if accessories:
        envs += [(f"accessory {accessory.name}", accessory.env) for accessory in config.accessories]
    for owner, env in envs:
        for name, secret in env.secret_names.items():
            if secret not in defined:
                problem = (f"env/secret of {owner} lists {name}"
                           + (f" (secret {secret})" if secret != name else "") + ", which "
                           + (f"{', '.join(secrets.files)} does not define"
                              if secrets.files else f"no secrets file ({', '.join(secrets.filenames)}) "
                                                    "defines: there is none"))
                if problem not in problems:
                    problems.append(problem)
    for key in ("username", "password"):
        try:
            getattr(config.registry, key)
        except ConfigError as error:
            problems.append(f"registry/{key}: {error}")
    if problems:
        raise ConfigError("Secrets missing, nothing was changed on any host:\n  " + "\n  ".join(problems)
                          + "\nDefine them in the secrets file (NAME=value, or NAME=$(command)), "
                          "or remove them from the configuration")


def check_host(context: StepContext, host: str, *, docker_required: bool = True) -> HostCheck | None:
    run_directory = context.config.run_directory
    if context.plan:
        # Shown as asked; no engine answers a plan.
        context.executor.read(host, Read("engine", facts.engine(Docker()).request, lambda answers: None))
        context.executor.run(host, space_check(PLANNED_DOCKER_ROOT, run_directory), check=False)
        return None
    try:
        engine: EngineInfo | None = context.executor.read(host, facts.engine(Docker()))
    except HostUnreachable:
        raise
    except HostError:
        engine = None  # the command line says why, next
    if engine is not None:
        found = context.executor.read(host, space_read(engine, run_directory))
    else:
        found = context.executor.read(host, host_read(run_directory))
    if found.docker_status == 127:
        if docker_required:
            raise HostError(host, f"Docker is not installed on {host}: install it with `kamalnb server bootstrap` "
                                  "(or `kamalnb setup`), then deploy again")
        return found
    if found.docker_status != 0:
        cause = found.docker_output.splitlines()[0] if found.docker_output else f"exit status {found.docker_status}"
        if "permission denied" in found.docker_output.lower():
            raise HostError(host, f"the SSH user may not use Docker on {host} ({cause}): add it to the "
                                  "docker group, or deploy as root")
        raise HostError(host, f"Docker is not running on {host} ({cause}): start it (`systemctl start docker`), "
                              "then deploy again")
    if found.docker_free is not None and found.docker_free < MIN_DOCKER_FREE:
        raise HostError(host, f"disk full on {host}: {_size(found.docker_free)} free in {found.docker_root}, where "
                              f"Docker keeps images; a pull needs at least {_size(MIN_DOCKER_FREE)}: free space "
                              "(`docker image prune`, `kamalnb prune`), then deploy again")
    if found.kamal_free is not None and found.kamal_free < MIN_KAMAL_FREE:
        directory = context.config.run_directory
        raise HostError(host, f"disk full on {host}: {_size(found.kamal_free)} free for ~/{directory} (env files, "
                              "lock, audit log); it needs at least "
                              f"{_size(MIN_KAMAL_FREE)}: free space there, then deploy again")
    return found


def check_image(context: StepContext) -> None:
    """With the build skipped, the version's image must already be in the registry."""
    from kamalnb.executors import registry as registry_api

    config = context.config
    registry = config.registry
    image = config.image or config.service
    ref = registry_api.ImageRef.parse(registry.server, image, config.version)
    if context.plan:
        host, _, port = ref.server.partition(":")
        context.executor.http(LOCAL, "HEAD", host, int(port or 443), ref.path)
        return
    try:
        found = registry_api.manifest_exists(ref, _text(registry.username), _text(registry.password))
    except registry_api.RegistryUnavailable as error:
        raise HostError(LOCAL, f"cannot check that {config.absolute_image} is in the registry: {error}; "
                               "fix the registry settings, or deploy without -P to build and push it") from None
    if not found:
        raise HostError(LOCAL, f"the image {config.absolute_image} is not in the registry (skip_push/-P skips the "
                               "build): deploy without -P to build and push it, or give a version that was pushed")


def _text(value: str | Secret | None) -> str | None:
    return None if value is None else reveal(value)


def _size(amount: int) -> str:
    if amount >= 2**20:
        return f"{amount / 2**20:.0f} MiB"
    return f"{amount // 1024} KiB"
