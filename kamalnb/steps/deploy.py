"""setup, build, push, pull, deploy, redeploy and rollback: Kamal's sequence (reference
section 3.3), with the deploy lock, the audit log and the hooks."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from typing import TYPE_CHECKING

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.commands import Prune, Registry, builder_for
from kamalnb.config.builder import machine_arch
from kamalnb.errors import ConfigError, HostError
from kamalnb.events import Phase
from kamalnb.results import HostOutcome, Report, StepRecorder
from kamalnb.steps import accessory as accessory_steps
from kamalnb.steps import assets, leftovers, lock, preflight, server_ops
from kamalnb.steps import proxy as proxy_steps
from kamalnb.steps import tls as tls_steps
from kamalnb.steps.app_ops import stale_versions
from kamalnb.steps.boot import Switched, boot
from kamalnb.steps.build import build
from kamalnb.steps.context import StepContext
from kamalnb.steps.revert import settle_failure

if TYPE_CHECKING:
    from kamalnb.config import Role


# ---- build, push, pull ----------------------------------------------------------------------

def pull(context: StepContext, hosts: Iterable[str] | None = None) -> Report:
    """Pull the version's image on every app host and check its `service` label."""
    config = context.config
    hosts = list(hosts or config.specifics.app_hosts)
    recorder = StepRecorder("pull", context.events, hosts, planned=context.plan)
    builder = builder_for(config, local_arch=machine_arch())
    login = Registry(config).login()

    def pull_on(host: str) -> None:
        with recorder.host(host, Phase.PULL) as outcome:
            executor = context.executor
            context.audit(host, f"Pulled image with version {config.version}")
            if login is not None:
                outcome.record(executor.run(host, login))
            # A local registry is reached from the host through its own SSH connection.
            port = config.registry.local_port
            with executor.forward_to_local(host, port) if port is not None else nullcontext():
                # Clearing any stale copy: where there is none, Docker's "No such image" is the
                # expected answer, and a daemon that cannot remove one fails the pull next.
                outcome.record(executor.change(host, builder.engine_clean(), check=False))
                outcome.record(executor.run(host, builder.pull()))
            # In a plan no image was pulled to be asked.
            if executor.read(host, facts.image_service(builder)) != config.service and not context.plan:
                raise HostError(host, f"Image {config.absolute_image} is missing the 'service' label "
                                      f"`service={config.service}`: kamalnb's and Kamal's builds add it; an image "
                                      f"built otherwise needs `LABEL service=\"{config.service}\"` in its Dockerfile")
            outcome.version_after = config.version

    recorder.absorb(context.parallel(hosts, pull_on))
    return recorder.finish().raise_on_failure()


# ---- app boot ------------------------------------------------------------------------------------

def app_boot(context: StepContext, step: str, *, stop_stale: bool = False) -> Report:
    """Boot the configured version on every selected (host, role): the primary role first, as
    Kamal's barrier does; other roles only once every primary-role container is healthy.
    When a host or wave fails, the hosts already switched are switched back (or kept, with
    `x-kamalnb: on_failure: keep`). Once every host's routes are checked, each (host, role)
    goes on as soon as it can: what an interrupted deploy left is cleaned up
    (`kamalnb.steps.leftovers`), `stop_stale` stops running containers that are not current
    (as Kamal's deploy does), then the new version boots. With asset bridging, every host
    has both versions' assets before the first one boots: a client of several hosts may ask
    any of them for the new version's assets. The report carries the name of the `step` it
    is the outcome of (deploy, rollback...)."""
    config = context.config
    specifics = config.specifics
    proxy = proxy_steps.driver(context)
    proxy_steps.check_routes(context, proxy)
    recorder = StepRecorder("boot", context.events, specifics.app_hosts, planned=context.plan,
                            roles=specifics.role_host_names)
    found: dict[tuple[str, Role], list[str]] = {}

    def prepare(pair: tuple[str, Role]) -> None:
        # Before stale containers are stopped: after a kill during drain, Kamal's "current"
        # container can be the old one while the route serves the new.
        found[pair] = leftovers.clean(context, proxy, *pair)
        if stop_stale:
            stop_stale_container(context, *pair)

    bridged = any(role.assets for _, role in specifics.role_hosts)
    if bridged:
        context.parallel(specifics.role_hosts, prepare).check("Cleaning up before the boot")
        assets.prepare(context)
    waves = boot_waves(context)
    switched: list[Switched] = []

    for index, wave in enumerate(waves):
        hosts = list(dict.fromkeys(host for host, _ in wave))
        context.hook("pre-app-boot", hosts=hosts)

        def boot_pair(pair: tuple[str, Role]) -> None:
            host, role = pair
            with recorder.host(host, Phase.BOOT, role=role.name) as outcome:
                if not bridged:
                    prepare(pair)
                boot(context, proxy, config, role, host, outcome, switched)

        recorder.absorb(context.parallel(wave, boot_pair))
        if not recorder.report.ok:
            failed = recorder.report.failed[0]
            for host, role in (pair for later in waves[index + 1:] for pair in later):
                recorder.report.add(HostOutcome(host, role=role.name, status="skipped",
                                                error=HostError(host, f"not booted: {failed.host} failed first")))
            if not context.cancel.is_set():
                # An interrupt stops where it is: switching hosts back is a deploy of its own.
                settle_failure(context, proxy, switched, failed.host)
            break
        context.hook("post-app-boot", hosts=hosts)
        if config.boot.wait and index < len(waves) - 1:
            context.sleep(config.boot.wait)

    recorder.report.notes.extend(line for pair in specifics.role_hosts for line in found.get(pair, []))
    if recorder.report.ok:
        def tag(host: str) -> None:
            with context.phase(host, Phase.TAG):
                context.audit(host, f"Tagging {config.absolute_image} as the latest image")
                context.executor.change(host, AppCommands(config, specifics.roles[0], host).engine_tag_latest_image())

        recorder.absorb(context.parallel(specifics.app_hosts, tag))
    report = recorder.finish()
    report.step = step
    return report


def boot_waves(context: StepContext) -> list[list[tuple[str, Role]]]:
    """The (host, role) pairs in the order Kamal boots them: the primary role's first, then
    the others, each group cut into waves of `boot.limit` pairs."""
    specifics = context.config.specifics
    primary = [role for role in specifics.roles if role.primary] or specifics.roles[:1]
    pairs = specifics.role_hosts
    groups = [[pair for pair in pairs if pair[1] in primary], [pair for pair in pairs if pair[1] not in primary]]
    limit = context.config.boot.limit
    waves = [group[i:i + limit] for group in groups for i in range(0, len(group), limit)] if limit else groups
    return [wave for wave in waves if wave]


def stop_stale_container(context: StepContext, host: str, role: Role) -> None:
    """Running containers of the role on the host that are not its current version (Kamal's
    stale_containers --stop)."""
    with context.phase(host, Phase.STALE, role.name):
        app = AppCommands(context.config, role, host)
        for version in stale_versions(context, host, app):
            context.executor.change(host, app.engine_stop(version), check=False)


def prune(context: StepContext) -> None:
    config = context.config
    prune_commands = Prune(config)

    def prune_on(host: str) -> None:
        change = context.executor.change
        with context.phase(host, Phase.PRUNE):
            context.audit(host, "Pruned containers")
            change(host, prune_commands.engine_app_containers(config.retain_containers), check=False)
            context.audit(host, "Pruned images")
            change(host, prune_commands.engine_dangling_images(), check=False)
            change(host, prune_commands.engine_tagged_images(), check=False)

    context.parallel(config.specifics.hosts, prune_on).check("Pruning")


# ---- the verbs ---------------------------------------------------------------------------------

def deploy(context: StepContext, *, skip_push: bool = False, no_cache: bool = False,
           boot_proxy: bool = True, boot_accessories: bool = False, step: str = "deploy") -> Report:
    """Build and push (or with skip_push, only pull), then under the lock: pre-deploy hook,
    proxy boot, (for setup) accessory boot, stale containers, app boot; then prune, beside
    the post-deploy hook."""
    preflight.check(context, skip_push=skip_push)
    https = tls_steps.check(context)
    if not skip_push:
        build(context, no_cache=no_cache)
    pull(context)
    with lock.held(context):
        context.hook("pre-deploy")
        if boot_proxy:
            proxy_steps.boot(context)
        tls_steps.forget(context, proxy_steps.driver(context), https)
        tls_steps.ensure(context, proxy_steps.driver(context), https)
        if boot_accessories and context.config.accessories:
            # As Kamal's setup: those that exist are skipped; `accessory reboot` replaces them.
            accessory_steps.boot(context, accessory_steps.ALL)
        report = app_boot(context, step, stop_stale=True)
    report.raise_on_failure()
    # Off the critical path: the lock is free and the deploy reports done while old
    # containers and images go.
    if boot_proxy:
        context.after(lambda: prune(context))
    context.hook("post-deploy", runtime=context.runtime)
    return report


def redeploy(context: StepContext, *, skip_push: bool = False, no_cache: bool = False) -> Report:
    return deploy(context, skip_push=skip_push, no_cache=no_cache, boot_proxy=False, step="redeploy")


def rollback(context: StepContext) -> Report:
    """Boot the configured (earlier) version, whose containers must still exist on every host."""
    config = context.config
    version = config.version
    preflight.check(context)
    with lock.held(context, version=version):
        def available(pair: tuple[str, Role]) -> bool:
            host, role = pair
            return context.executor.read(host, facts.container_id(AppCommands(config, role, host), version)) is not None

        found = context.parallel(config.specifics.role_hosts, available).check(f"Looking for version {version}")
        missing = [f"{role.name} on {host}" for (host, role), ok in found.items() if not ok]
        if missing:
            raise ConfigError(f"The app version '{version}' is not available as a container "
                              f"({', '.join(missing)}); `kamalnb app containers` lists the versions there")
        context.hook("pre-deploy")
        report = app_boot(context, "rollback")
    report.raise_on_failure()
    context.hook("post-deploy", runtime=context.runtime)
    return report


def setup(context: StepContext, *, skip_push: bool = False, no_cache: bool = False) -> Report:
    preflight.check(context, skip_push=skip_push, docker_required=False, accessories=True)
    with lock.held(context):
        server_ops.bootstrap(context)
        return deploy(context, skip_push=skip_push, no_cache=no_cache, boot_accessories=True, step="setup")
