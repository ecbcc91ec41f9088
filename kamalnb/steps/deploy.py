"""setup, build, push, pull, deploy, redeploy and rollback: Kamal's sequence (reference
section 3.3), with the deploy lock, the audit log and the hooks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from kamalnb.commands import App as AppCommands
from kamalnb.commands import Docker, Prune, Registry, builder_for
from kamalnb.commands.base import Command
from kamalnb.config import Configuration
from kamalnb.errors import ConfigError, HostError
from kamalnb.proxy import CaddyDriver
from kamalnb.results import HostOutcome, Report, StepRecorder
from kamalnb.steps import lock
from kamalnb.steps.boot import boot
from kamalnb.steps.context import LOCAL, StepContext

if TYPE_CHECKING:
    from kamalnb.config import Role

DOCKER_INSTALL_HINT = "curl -fsSL https://get.docker.com | sh"


def config_at(config: Configuration, version: str | None) -> Configuration:
    """The same configuration (files, destination, -h/-r) for another version."""
    if not version or version == config.declared_version:
        return config
    specifics = config.specifics
    return Configuration(
        config.raw_config, config.destination, version, root=config.root, environ=config.environ,
        specific_hosts=specifics.specific_hosts,
        specific_roles=[role.name for role in specifics.specific_roles] if specifics.specific_roles else None,
        config_file=config.config_file,
    )


def driver(context: StepContext) -> CaddyDriver:
    return CaddyDriver(context.executor, context.extension.proxy_image)


def _hosts_of(config: Configuration, role: "Role") -> list[str]:
    selected = set(config.specifics.hosts)
    return [host for host in role.hosts if host in selected]


def proxied_hosts(config: Configuration) -> list[str]:
    """Selected hosts with a role behind the proxy, in selection order."""
    proxied = {host for role in config.proxy_roles for host in role.hosts}
    return [host for host in config.specifics.hosts if host in proxied]


def app_hosts(config: Configuration) -> list[str]:
    return list(dict.fromkeys(host for role in config.specifics.roles for host in _hosts_of(config, role)))


# ---- build, push, pull ----------------------------------------------------------------------

def build(context: StepContext, *, no_cache: bool = False) -> Report:
    """Build the image locally with the `service` label, tagged with the version and latest, and push it."""
    config = context.config
    recorder = StepRecorder("build", context.events, [LOCAL], planned=context.plan)
    with recorder.host(LOCAL, "build") as outcome:
        # Kamal builds from the project's root: `--file <dockerfile>` is relative to it.
        dockerfile = Path(config.root) / config.builder.dockerfile
        if not dockerfile.exists():
            raise HostError(LOCAL, f"no Dockerfile at {dockerfile}: create it, or set builder/dockerfile")
        local = context.local
        login = Registry(config).login()
        if login is not None:
            outcome.record(local.run(LOCAL, login))
        context.hook("pre-build")
        builder = builder_for(config, local_arch=_local_arch())
        buildx = local.run(LOCAL, Command.from_argv(["docker", "buildx", "version"]), check=False).ok
        if buildx:
            builder_exists = builder.inspect_builder()
            if builder_exists is not None and not local.run(LOCAL, builder_exists, check=False).ok:
                create = builder.create()
                if create is not None:
                    outcome.record(local.run(LOCAL, create))
            outcome.record(local.run(LOCAL, builder.push(no_cache=no_cache)))
        else:
            # No buildx plugin (Debian's docker.io): the classic builder, then a push per tag.
            outcome.record(local.run(LOCAL, builder.plain_build(no_cache=no_cache)))
            outcome.record(local.run(LOCAL, builder.push_tags()))
        outcome.version_after = config.version
    return recorder.finish().raise_on_failure()


def _local_arch() -> str:
    import platform

    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def pull(context: StepContext, hosts: Iterable[str] | None = None) -> Report:
    """Pull the version's image on every app host and check its `service` label."""
    config = context.config
    hosts = list(hosts or app_hosts(config))
    recorder = StepRecorder("pull", context.events, hosts, planned=context.plan)
    builder = builder_for(config, local_arch=_local_arch())
    login = Registry(config).login()
    image = config.absolute_image

    def pull_on(host: str) -> None:
        with recorder.host(host, "pull") as outcome:
            executor = context.executor
            context.audit(host, f"Pulled image with version {config.version}")
            if login is not None:
                outcome.record(executor.run(host, login))
            outcome.record(executor.run(host, Command.from_argv(["docker", "image", "rm", "--force", image])))
            outcome.record(executor.run(host, builder.pull()))
            outcome.record(executor.run(host, builder.validate_image()))
            outcome.version_after = config.version

    context.parallel(hosts, pull_on)
    return recorder.finish().raise_on_failure()


# ---- server bootstrap and proxy ---------------------------------------------------------------

def bootstrap(context: StepContext) -> None:
    """Docker must be there: a clear error naming the install command when it is not."""
    hosts = list(context.config.specifics.hosts)
    docker = Docker()
    missing = []

    def check(host: str) -> None:
        if not context.executor.run(host, docker.installed(), check=False).ok:
            missing.append(host)

    context.parallel(hosts, check)
    if missing:
        raise HostError(missing[0], f"Docker is not installed on {', '.join(sorted(missing))}: install it there "
                                    f"(for example `{DOCKER_INSTALL_HINT}` as root), then run setup again")
    context.hook("docker-setup")


def proxy_boot(context: StepContext, hosts: Iterable[str] | None = None) -> Report:
    hosts = list(hosts or proxied_hosts(context.config))
    recorder = StepRecorder("proxy boot", context.events, hosts, planned=context.plan)
    proxy = driver(context)

    def boot_on(host: str) -> None:
        with recorder.host(host, "proxy"):
            proxy.boot(host)

    context.parallel(hosts, boot_on)
    return recorder.finish().raise_on_failure()


# ---- app boot ------------------------------------------------------------------------------------

def app_boot(context: StepContext, config: Configuration, step: str) -> Report:
    """Boot `config.version` on every selected (host, role): the primary role first, as
    Kamal's barrier does; other roles only once every primary-role container is healthy.
    The report carries the name of the `step` it is the outcome of (deploy, rollback...)."""
    recorder = StepRecorder("boot", context.events, app_hosts(config), planned=context.plan)
    proxy = driver(context)
    roles = list(config.specifics.roles)
    primary = [role for role in roles if role.primary] or roles[:1]
    groups = [[(host, role) for role in primary for host in _hosts_of(config, role)],
              [(host, role) for role in roles if role not in primary for host in _hosts_of(config, role)]]
    limit = config.boot.limit
    waves = [group[i:i + limit] for group in groups for i in range(0, len(group), limit)] if limit else groups

    for index, wave in enumerate(w for w in waves if w):
        hosts = list(dict.fromkeys(host for host, _ in wave))
        context.hook("pre-app-boot", hosts=hosts)

        def boot_pair(pair: tuple[str, "Role"]) -> None:
            host, role = pair
            with recorder.host(host, "boot", role=role.name) as outcome:
                boot(context, proxy, config, role, host, outcome)

        context.parallel(wave, boot_pair)
        if not recorder.report.ok:
            failed = recorder.report.failed[0]
            skipped = [pair for later in waves[index + 1:] for pair in later]
            for host, role in skipped:
                recorder.report.add(HostOutcome(host, role=role.name, status="skipped",
                                                error=HostError(host, f"not booted: {failed.host} failed first")))
            break
        context.hook("post-app-boot", hosts=hosts)
        if config.boot.wait and index < len(waves) - 1:
            context.sleep(config.boot.wait)

    if recorder.report.ok:
        def tag(host: str) -> None:
            with context.phase(host, "tag"):
                context.audit(host, f"Tagging {config.absolute_image} as the latest image")
                context.executor.run(host, AppCommands(config, roles[0], host).tag_latest_image())

        results = context.parallel(app_hosts(config), tag)
        for host, value in results.items():
            if isinstance(value, HostError):
                recorder.report.add(HostOutcome(host, status="failed", error=value))
    report = recorder.finish()
    report.step = step
    return report


def stop_stale_containers(context: StepContext, config: Configuration) -> None:
    """Running containers of a role that are not its current version (Kamal's stale_containers --stop)."""
    pairs = [(host, role) for role in config.specifics.roles for host in _hosts_of(config, role)]

    def stop_stale(pair: tuple[str, "Role"]) -> None:
        host, role = pair
        with context.phase(host, "stale", role.name):
            _stop_stale(host, role)

    def _stop_stale(host: str, role: "Role") -> None:
        app = AppCommands(config, role, host)
        running = context.executor.run(host, app.list_versions(), check=False).stdout.split()
        current = context.executor.run(host, app.current_running_version(), check=False).stdout.strip()
        for version in running:
            if version != current:
                context.executor.run(host, app.stop(version), check=False)

    context.parallel(pairs, stop_stale)


def prune(context: StepContext) -> None:
    config = context.config
    prune_commands = Prune(config)

    def prune_on(host: str) -> None:
        run = context.executor.run
        with context.phase(host, "prune"):
            context.audit(host, "Pruned containers")
            run(host, prune_commands.app_containers(config.retain_containers), check=False)
            context.audit(host, "Pruned images")
            run(host, prune_commands.dangling_images(), check=False)
            run(host, prune_commands.tagged_images(), check=False)

    context.parallel(config.specifics.hosts, prune_on)


# ---- the verbs ---------------------------------------------------------------------------------

def deploy(context: StepContext, *, skip_push: bool = False, no_cache: bool = False,
           boot_proxy: bool = True, step: str = "deploy") -> Report:
    """Build and push (or with skip_push, only pull), then under the lock: pre-deploy hook,
    proxy boot, stale containers, app boot, prune; then the post-deploy hook."""
    config = context.config
    if not skip_push:
        build(context, no_cache=no_cache)
    pull(context)
    with lock.held(context):
        context.hook("pre-deploy")
        if boot_proxy:
            proxy_boot(context)
        stop_stale_containers(context, config)
        report = app_boot(context, config, step)
        if report.ok and boot_proxy:
            prune(context)
    report.raise_on_failure()
    context.hook("post-deploy", runtime=context.runtime)
    return report


def redeploy(context: StepContext, *, skip_push: bool = False, no_cache: bool = False) -> Report:
    return deploy(context, skip_push=skip_push, no_cache=no_cache, boot_proxy=False, step="redeploy")


def rollback(context: StepContext, version: str) -> Report:
    """Boot an earlier version whose containers still exist on every host."""
    config = config_at(context.config, version)
    context.config = config
    with lock.held(context, version=version):
        pairs = [(host, role) for role in config.specifics.roles for host in _hosts_of(config, role)]

        def available(pair: tuple[str, "Role"]) -> bool:
            host, role = pair
            app = AppCommands(config, role, host)
            return bool(context.executor.run(host, app.container_id_for_version(version)).stdout.strip())

        results = context.parallel(pairs, available)
        missing = [f"{role.name} on {host}" for (host, role), ok in results.items() if ok is not True]
        if missing:
            raise ConfigError(f"The app version '{version}' is not available as a container "
                              f"({', '.join(missing)}); `kamalnb app containers` lists the versions there")
        context.hook("pre-deploy")
        report = app_boot(context, config, "rollback")
    report.raise_on_failure()
    context.hook("post-deploy", runtime=context.runtime)
    return report


def setup(context: StepContext, *, skip_push: bool = False, no_cache: bool = False) -> Report:
    with lock.held(context):
        bootstrap(context)
        return deploy(context, skip_push=skip_push, no_cache=no_cache, step="setup")

