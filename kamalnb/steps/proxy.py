"""The proxy's verbs on every proxy host: boot, reboot, remove, details, logs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kamalnb.events import Phase
from kamalnb.proxy import CaddyDriver
from kamalnb.results import Report, StepRecorder
from kamalnb.steps.context import StepContext


def driver(context: StepContext) -> CaddyDriver:
    return CaddyDriver(context.executor, context.extension.proxy_image)


def boot(context: StepContext, hosts: Iterable[str] | None = None) -> Report:
    """Start the proxy where it does not run (routes kept across restarts)."""
    hosts = list(hosts or context.config.specifics.proxy_hosts)
    recorder = StepRecorder("proxy boot", context.events, hosts, planned=context.plan)
    proxy = driver(context)

    def boot_on(host: str) -> None:
        with recorder.host(host, Phase.PROXY):
            proxy.boot(host)

    context.parallel(hosts, boot_on)
    return recorder.finish().raise_on_failure()


def on_each(context: StepContext, subcommand: str, action: Callable[[CaddyDriver, str], object], audit_line: str,
            hook: str | None = None) -> Report:
    """`action` on every proxy host, each with Kamal's audit line; `hook` names the pre-/post-
    hooks around it (Kamal's pre-proxy-reboot and post-proxy-reboot)."""
    hosts = context.config.specifics.proxy_hosts
    recorder = StepRecorder(f"proxy {subcommand}", context.events, hosts, planned=context.plan)
    proxy = driver(context)
    if hook:
        context.hook(f"pre-{hook}", hosts=hosts)

    def on(host: str) -> None:
        with recorder.host(host, Phase.PROXY):
            context.audit(host, audit_line)
            action(proxy, host)

    context.parallel(hosts, on)
    report = recorder.finish().raise_on_failure()
    if hook:
        context.hook(f"post-{hook}", hosts=hosts)
    return report


def texts(context: StepContext, action: Callable[[CaddyDriver, str], str]) -> dict[str, str]:
    """What `action` answers on every proxy host; a host that failed says why."""
    proxy = driver(context)
    outcomes = context.parallel(context.config.specifics.proxy_hosts, lambda host: action(proxy, host))
    return {host: outcomes.results[host] if host in outcomes.results else f"ERROR: {outcomes.errors[host]}"
            for host in context.config.specifics.proxy_hosts}
