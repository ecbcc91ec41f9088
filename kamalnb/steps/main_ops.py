"""Kamal's top-level `details`, `remove` and `prune` (reference sections 1.2, 1.8, 3.12)."""

from __future__ import annotations

from collections.abc import Callable

from kamalnb.commands import Accessory, Auditor, Prune, Registry, Server
from kamalnb.commands.base import Command
from kamalnb.errors import error_text
from kamalnb.events import Phase
from kamalnb.listing import Block, Listing
from kamalnb.results import Report, StepRecorder
from kamalnb.steps import app_ops, lock
from kamalnb.steps import proxy as proxy_steps
from kamalnb.steps.context import StepContext

PRUNE_SCOPES = ("all", "containers", "images")


# ---- details ---------------------------------------------------------------------------------

def details(context: StepContext) -> Listing:
    """The proxy, the app and the accessories on each host, as `docker ps` shows them."""
    config = context.config
    driver = proxy_steps.driver(context)
    listing = Listing("details")
    proxy_hosts = [host for host in config.specifics.hosts if host in config.specifics.proxy_hosts]
    proxies = context.parallel(proxy_hosts, lambda host: driver.details(host))
    for host in proxy_hosts:
        error = proxies.errors.get(host)
        listing.blocks.append(Block(host, None, proxies.results.get(host, ""), error_text(error) if error else None,
                                    header="Proxy Host", kind="proxy"))
    for block in app_ops.details(context).blocks:
        listing.blocks.append(Block(block.host, block.role, block.text, block.error, kind="app"))
    for accessory in config.accessories:
        commands = Accessory(config, accessory.name)
        hosts = [host for host in accessory.hosts if host in config.specifics.hosts] or accessory.hosts
        found = context.parallel(hosts, _info_reader(context, commands))
        for host in hosts:
            error = found.errors.get(host)
            listing.blocks.append(Block(host, accessory.name, found.results.get(host, ""),
                                        error_text(error) if error else None,
                                        header=f"Accessory {accessory.name} Host", kind="accessory"))
    return listing


def _info_reader(context: StepContext, commands: Accessory) -> Callable[[str], str]:
    return lambda host: context.executor.run(host, commands.info()).stdout


# ---- prune ------------------------------------------------------------------------------------

def prune(context: StepContext, scope: str = "all", *, retain: int | None = None) -> Report:
    """Stopped containers beyond the newest `retain` (default `retain_containers`), then
    images no container of the service uses, on every host, under the lock."""
    config = context.config
    retain = config.retain_containers if retain is None else retain
    if retain < 1:
        from kamalnb.errors import ConfigError

        raise ConfigError("retain must be at least 1")
    commands = Prune(config)
    hosts = list(config.specifics.hosts)
    recorder = StepRecorder(f"prune {scope}", context.events, hosts, planned=context.plan)

    def on(host: str) -> None:
        with recorder.host(host, Phase.PRUNE) as outcome:
            change = context.executor.change
            if scope in ("all", "containers"):
                context.audit(host, "Pruned containers")
                outcome.record(change(host, commands.engine_app_containers(retain)))
            if scope in ("all", "images"):
                context.audit(host, "Pruned images")
                outcome.record(change(host, commands.engine_dangling_images()))
                outcome.record(change(host, commands.engine_tagged_images()))

    with lock.held(context):
        recorder.absorb(context.parallel(hosts, on))
        return recorder.finish().raise_on_failure()


# ---- remove -----------------------------------------------------------------------------------

def remove(context: StepContext) -> Report:
    """Everything of this service on its hosts: the app (containers, images, env files,
    assets, its proxy routes), its accessories, the registry login; the proxy only where
    no other app is installed, so other apps keep serving. Then the lock and the audit log."""
    config = context.config
    with lock.held(context):
        report = app_ops.remove(context, locked=True)
        _remove_accessories(context, report)
        _remove_idle_proxies(context, report)
        logout = Registry(config).logout()
        context.parallel(config.specifics.hosts, lambda host: context.executor.run(host, logout, check=False)) \
            .check("Logging out of the registry")
    auditor = Auditor(config, recorded_at=context.now(), performer=context.performer)
    context.parallel(config.specifics.hosts, lambda host: context.executor.run(
        host, Command.from_argv(["rm", "-f", auditor.audit_log_file]))).check("Removing the audit log")
    report.step = "remove"
    return report


def _remove_accessories(context: StepContext, report: Report) -> None:
    config = context.config
    recorder = StepRecorder("accessory remove", context.events, config.specifics.hosts, planned=context.plan)
    pairs = [(host, accessory.name) for accessory in config.accessories for host in accessory.hosts]

    def on(pair: tuple[str, str]) -> None:
        host, name = pair
        commands = Accessory(config, name)
        with recorder.host(host, Phase.STOP, role=name) as outcome:
            run = context.executor.run
            outcome.record(run(host, commands.stop(), check=False))
            outcome.record(run(host, commands.remove_container()))
            outcome.record(run(host, commands.remove_image()))
            outcome.record(run(host, commands.remove_service_directory()))

    recorder.absorb(context.parallel(pairs, on))
    for outcome in recorder.finish().raise_on_failure():
        report.add(outcome)


def _remove_idle_proxies(context: StepContext, report: Report) -> None:
    """Remove the proxy on hosts where no app is installed any more."""
    config = context.config
    driver = proxy_steps.driver(context)
    hosts = config.specifics.proxy_hosts
    recorder = StepRecorder("proxy remove", context.events, hosts, planned=context.plan)
    count = Server(config).app_directory_count()

    def on(host: str) -> None:
        with recorder.host(host, Phase.PROXY) as outcome:
            result = context.executor.run(host, count, check=False)
            installed = int(result.stdout.strip() or 0) if result.ok else 0
            # Other apps installed: the proxy stays and keeps serving them.
            if installed == 0:
                driver.remove(host)
                outcome.record(result)

    recorder.absorb(context.parallel(hosts, on))
    for outcome in recorder.finish().raise_on_failure():
        report.add(outcome)
