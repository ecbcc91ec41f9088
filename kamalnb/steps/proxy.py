"""The proxy's verbs on every proxy host: boot, reboot, remove, details, logs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kamalnb.errors import ConfigError
from kamalnb.events import Phase
from kamalnb.proxy import CaddyDriver
from kamalnb.proxy.base import ProxyDriver, Route, conflicts, describe_claim
from kamalnb.results import Report, StepRecorder
from kamalnb.steps.boot import route_for
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


def check_routes(context: StepContext, proxy: ProxyDriver) -> None:
    """Refuse, before anything changes, routes that claim a host name (and path prefix) that
    another app, role or destination claims on the same proxy, or two catch-alls; naming both."""
    ours: dict[str, list[Route]] = {}
    for host, role in context.config.specifics.role_hosts:
        if role.running_proxy:
            ours.setdefault(host, []).append(route_for(role))
    found = context.parallel(list(ours), proxy.claims).check("Reading the proxy's routes")
    problems = []
    for host, routes in ours.items():
        for route, other, claim in conflicts(routes, found.get(host, [])):
            problems.append(f"`{route.id}` and `{other.id}` both claim {describe_claim(claim)} on {host}")
    if problems:
        raise ConfigError(
            "Two routes cannot serve the same requests: " + "; ".join(dict.fromkeys(problems)) + ". Give each its own "
            "`proxy.host` (or `path_prefix`), or remove the other app's route from that proxy first")
