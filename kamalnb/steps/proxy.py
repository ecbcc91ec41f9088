"""The proxy's verbs on every proxy host: boot, reboot, remove, details, logs."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from kamalnb.commands.base import Command, run_over_ssh
from kamalnb.errors import ConfigError
from kamalnb.events import Phase
from kamalnb.proxy import CaddyDriver, caddy_config
from kamalnb.proxy.base import ProxyDriver, Route, conflicts, describe_claim
from kamalnb.proxy.caddy_config import DEFAULT_PAGE
from kamalnb.results import Report, StepRecorder
from kamalnb.steps.boot import route_for
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    from kamalnb.config import Role


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
            hook: str | None = None, *, rolling: bool = False) -> Report:
    """`action` on every proxy host, each with Kamal's audit line; `hook` names the pre-/post-
    hooks around it (Kamal's pre-proxy-reboot and post-proxy-reboot). `rolling`: one host
    after the other, each done (its proxy answering with its routes) before the next starts,
    with the hooks around each, as Kamal's `--rolling`; a failed host stops the rest."""
    hosts = context.config.specifics.proxy_hosts
    recorder = StepRecorder(f"proxy {subcommand}", context.events, hosts, planned=context.plan)
    proxy = driver(context)

    def on(host: str) -> None:
        with recorder.host(host, Phase.PROXY):
            context.audit(host, audit_line)
            action(proxy, host)

    for group in ([[host] for host in hosts] if rolling else [hosts]):
        if hook:
            context.hook(f"pre-{hook}", hosts=group)
        recorder.absorb(context.parallel(group, on))
        if recorder.report.failed:
            break
        if hook:
            context.hook(f"post-{hook}", hosts=group)
    return recorder.finish().raise_on_failure()


def texts(context: StepContext, action: Callable[[CaddyDriver, str], str]) -> dict[str, str]:
    """What `action` answers on every proxy host; a host that failed says why."""
    proxy = driver(context)
    outcomes = context.parallel(context.config.specifics.proxy_hosts, lambda host: action(proxy, host))
    return {host: outcomes.results[host] if host in outcomes.results else f"ERROR: {outcomes.errors[host]}"
            for host in context.config.specifics.proxy_hosts}


FOLLOW_LINES = 10


def follow_host(context: StepContext) -> str:
    """Where `proxy logs --follow` follows: the primary host if it runs the proxy (Kamal's
    choice), else the first proxy host."""
    hosts = context.config.specifics.proxy_hosts
    if not hosts:
        raise ConfigError("No host runs the proxy: no role or accessory has `proxy:`")
    primary = context.config.specifics.primary_host
    return primary if primary in hosts else hosts[0]


def follow_logs(context: StepContext, write: Callable[[str], None], *, lines: int | None = None,
                since: str | None = None, grep: str | None = None) -> None:
    """Stream the proxy's log on one host (`follow_host`), line by line into `write`, until
    interrupted; the interrupt closes the SSH channel, which ends `docker logs` there."""
    host = follow_host(context)
    driver(context).refuse_kamal_proxy(host)
    command = caddy_config.follow_logs(lines or FOLLOW_LINES, since, grep)
    stream = getattr(context.executor, "stream", None)
    if stream is None:
        # Plan mode (or an executor without terminals): the command is recorded, not streamed.
        context.executor.run(host, command, check=False)
        return
    stream(host, command, write)


def follow_command(context: StepContext, *, lines: int | None = None, since: str | None = None,
                   grep: str | None = None) -> Command:
    """The `ssh -t … '<docker logs --follow>'` line to run in a terminal."""
    host = follow_host(context)
    return run_over_ssh(context.config.ssh, host, str(caddy_config.follow_logs(lines or FOLLOW_LINES, since, grep)))


def check_routes(context: StepContext, proxy: ProxyDriver) -> None:
    """Refuse, before anything changes, routes that claim a host name (and path prefix) that
    another app, role or destination claims on the same proxy, or two catch-alls; naming both."""
    ours: dict[str, list[Route]] = {}
    for host, role in context.config.specifics.role_hosts:
        if role.running_proxy:
            ours.setdefault(host, []).append(route_for(role))

    def claims(host: str) -> list[Route]:
        with context.phase(host, Phase.PROXY):
            return proxy.claims(host)

    found = context.parallel(list(ours), claims).check("Reading the proxy's routes")
    problems = []
    for host, routes in ours.items():
        for route, other, claim in conflicts(routes, found.get(host, [])):
            problems.append(f"`{route.id}` and `{other.id}` both claim {describe_claim(claim)} on {host}")
    if problems:
        raise ConfigError(
            "Two routes cannot serve the same requests: " + "; ".join(dict.fromkeys(problems)) + ". Give each its own "
            "`proxy.host` (or `path_prefix`), or remove the other app's route from that proxy first")


DEFAULT_MESSAGE = "The app is down for maintenance. It will be back shortly."


def maintenance_page(context: StepContext, message: str | None) -> str:
    """The app's `error_pages_path`/503.html (its `{{ .Message }}` filled in, as kamal-proxy
    does), else a plain page with the message."""
    text = html.escape(message or DEFAULT_MESSAGE)
    pages = context.config.error_pages_path
    page = context.config.root / pages / "503.html" if pages else None
    if page is not None and page.is_file():
        return page.read_text().replace("{{ .Message }}", text)
    return DEFAULT_PAGE.format(message=text)


def maintenance(context: StepContext, *, on: bool, message: str | None = None) -> Report:
    """Every selected role's route answers 503 with the maintenance page (`on`), or serves
    the app again; the containers keep running and requests in flight finish."""
    pairs = [(host, role) for host, role in context.config.specifics.role_hosts if role.running_proxy]
    hosts = list(dict.fromkeys(host for host, _ in pairs))
    recorder = StepRecorder("app maintenance" if on else "app live", context.events, hosts, planned=context.plan)
    proxy = driver(context)
    page = maintenance_page(context, message) if on else None

    def on_pair(pair: tuple[str, Role]) -> None:
        host, role = pair
        with recorder.host(host, Phase.PROXY, role=role.name):
            context.audit(host, "Set application in maintenance mode" if on else "Set application in live mode",
                          role=role.name)
            proxy.maintenance(host, route_for(role), page)

    recorder.absorb(context.parallel(pairs, on_pair))
    return recorder.finish().raise_on_failure()
