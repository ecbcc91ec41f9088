"""Booting one version of a role on one host, without dropping a request.

start the new container -> health-check it through an SSH tunnel -> switch the route ->
wait until the old container has no request in flight -> stop the old container.
Until the switch, the old container serves and a failure (or an interrupt) stops only
the new one; after it, the new one serves and the old one is stopped as usual. A boot
that switched says so (`Switched`), so that a deploy failing elsewhere can switch the
host back (`kamalnb.steps.revert`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.commands import Docker, container_hostname
from kamalnb.commands.base import Command
from kamalnb.config import NETWORK
from kamalnb.errors import HealthCheckFailed, HostError, HostUnreachable
from kamalnb.events import Phase
from kamalnb.proxy import Route
from kamalnb.results import HostOutcome, Result
from kamalnb.steps import assets
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    from kamalnb.config import Configuration, Role
    from kamalnb.proxy.base import ProxyDriver

POLL_INTERVAL = 0.1
LOG_LINES_ON_FAILURE = 30


@dataclass(frozen=True)
class Switched:
    """A role on a host that serves the new version now, and what it ran before: the old
    container (`old_version` as its name ends, `_replaced_` included) is still there,
    running until drained, stopped after."""

    host: str
    role: Role
    version: str
    old_version: str | None
    outcome: HostOutcome


@dataclass(frozen=True)
class Attempt:
    """One health check: seconds since the container started, and what came back."""

    after: float
    status: int | None = None
    error: str | None = None

    def __str__(self) -> str:
        return f"{self.after:5.1f}s  {self.status if self.status is not None else self.error}"


def route_for(role: Role) -> Route:
    proxy = role.proxy
    if proxy is None:
        return Route(id=role.container_prefix)
    prefixes = proxy.path_prefixes
    buffering = proxy.buffering
    memory = int(buffering.get("memory") or 1_048_576)
    return Route(id=role.container_prefix, hosts=tuple(proxy.hosts), path_prefix=prefixes[0] if prefixes else None,
                 response_timeout=float(proxy.response_timeout) if proxy.response_timeout else None,
                 strip_path_prefix=proxy.strip_path_prefix is not False,
                 max_request_body=int(buffering["max_request_body"]) if buffering.get("max_request_body") else None,
                 request_buffers=memory if buffering.get("requests") else None,
                 response_buffers=memory if buffering.get("responses") else None,
                 tls=proxy.ssl, ssl_redirect=proxy.ssl_redirect is not False,
                 # kamal-proxy's default: forwarded headers are kept unless it terminates TLS.
                 forward_headers=proxy.forward_headers if proxy.forward_headers is not None else not proxy.ssl)


def container_address(context: StepContext, host: str, container: str) -> str:
    address = context.executor.read(host, facts.container_address(container, NETWORK))
    if not address:
        raise HostError(host, f"container {container} has no address on the `{NETWORK}` network; did it exit? "
                              f"See `docker logs {container}` on {host}")
    return address


def container_ref(context: StepContext, host: str, container: str) -> str:
    """What the proxy dials: the container's ID, which `_replaced_` renaming cannot move."""
    ref = context.executor.read(host, facts.container_ref(container))
    if not ref:
        raise HostError(host, f"container {container} is gone; see `docker ps -a` on {host}")
    return ref


def wait_healthy(context: StepContext, host: str, config: Configuration, role: Role, container: str) -> None:
    """GET the health check path on the container until it answers 200, or fail with every attempt."""
    proxy = role.proxy
    assert proxy is not None
    port, path = proxy.app_port, proxy.healthcheck_path
    timeout = float(config.deploy_timeout)
    # Kamal's `healthcheck.interval` (seconds from one check to the next) when set; else
    # kamalnb checks more often than kamal-proxy's 1 s, so a deploy waits no longer than needed.
    interval = float(proxy.healthcheck["interval"]) if proxy.healthcheck.get("interval") else POLL_INTERVAL
    attempts: list[Attempt] = []
    t0 = time.monotonic()
    address = None
    while True:
        context.check_cancelled(host)
        elapsed = time.monotonic() - t0
        try:
            address = address or container_address(context, host, container)
            response = context.executor.http(host, "GET", address, port, path,
                                             timeout=min(float(proxy.healthcheck_timeout), timeout))
            attempts.append(Attempt(elapsed, status=response.status))
            if response.status == 200:
                return
        except HostUnreachable:
            raise  # the host is gone, not the app unhealthy: no point asking again
        except HostError as error:
            attempts.append(Attempt(elapsed, error=error.detail))
        if time.monotonic() - t0 >= timeout:
            break
        context.sleep(max(0.0, t0 + elapsed + interval - time.monotonic()))
    url = f"http://{address or container}:{port}{path}"
    raise HealthCheckFailed(host, _health_report(context, host, container, url, port, timeout, attempts))


def wait_running(context: StepContext, host: str, config: Configuration, app: AppCommands, version: str) -> None:
    """Kamal's readiness for roles without the proxy: `healthy`, or still `running` after readiness_delay."""
    timeout = float(config.deploy_timeout)
    attempts: list[Attempt] = []
    t0 = time.monotonic()
    while True:
        context.check_cancelled(host)
        state = context.executor.read(host, facts.container_status(app, version))
        attempts.append(Attempt(time.monotonic() - t0, error=state or "(no container)"))
        if state == "healthy":
            return
        if state == "running":
            context.sleep(config.readiness_delay)
            state = context.executor.read(host, facts.container_status(app, version))
            if state in ("running", "healthy"):
                return
        if time.monotonic() - t0 >= timeout:
            break
        context.sleep(POLL_INTERVAL * 5)
    container = app.container_name(version)
    logs = _logs(context, host, container)
    raise HealthCheckFailed(host, f"container {container} not ready after {timeout:.0f}s "
                                  f"({attempts[-1].error}); last log lines:\n{logs}")


def _logs(context: StepContext, host: str, container: str) -> str:
    result = context.executor.run(host, Docker().container_logs(container, LOG_LINES_ON_FAILURE), check=False)
    lines = (result.stdout + result.stderr).strip().splitlines()
    return "\n".join(f"    {line}" for line in lines) or "    (no output)"


def _health_report(context: StepContext, host: str, container: str, url: str, port: int, timeout: float,
                   attempts: list[Attempt]) -> str:
    shown = attempts if len(attempts) <= 12 else [*attempts[:6], *attempts[-6:]]
    skipped = len(attempts) - len(shown)
    lines = [f"{container} did not become healthy within {timeout:.0f}s: GET {url} (app_port {port}), "
             f"{len(attempts)} attempts:"]
    lines += [f"    {attempt}" for attempt in shown[:6]]
    if skipped:
        lines.append(f"    ... {skipped} more ...")
    lines += [f"    {attempt}" for attempt in shown[6:]]
    lines.append(f"  last log lines of {container}:")
    lines.append(_logs(context, host, container))
    lines.append("  The previous version keeps serving; the new container was stopped.")
    return "\n".join(lines)


def boot(context: StepContext, driver: ProxyDriver, config: Configuration, role: Role, host: str,
         outcome: HostOutcome, switched_hosts: list[Switched] | None = None) -> None:
    """Boot `config.version` of `role` on `host` (Kamal's App::Boot), switching traffic with
    `driver`. Once the new container serves, its `Switched` is added to `switched_hosts`."""
    executor = context.executor
    app = AppCommands(config, role, host)

    def run(command: Command, check: bool = True) -> Result:
        return outcome.record(executor.run(host, command, check=check))

    version = config.version
    new_container = app.container_name(version)

    ran_new = switched = False
    previous = None
    old_version = None

    def serving_new() -> None:
        nonlocal switched
        switched = True
        if switched_hosts is not None:
            switched_hosts.append(Switched(host, role, version, old_version, outcome))

    try:
        with context.phase(host, Phase.START, role.name):
            if executor.read(host, facts.container_id(app, version)):
                replaced = f"{version}_replaced_{secrets.token_hex(8)}"
                context.audit(host, f"Renaming container {version} to {replaced}", role=role.name)
                outcome.record(executor.change(host, app.engine_rename_container(version, replaced)))
            old_version = executor.read(host, facts.running_version(app))
            outcome.version_before = facts.without_replaced(old_version) if old_version else None
            context.check_cancelled(host)
            context.audit(host, f"Booted app version {version}", role=role.name)
            run(app.ensure_env_directory())
            env_file = app.env_file()
            outcome.record(executor.upload(host, env_file.content, env_file.path, mode=env_file.mode))
            # From here the new container may exist, even if the answer never comes back.
            ran_new = True
            run(app.run(hostname=container_hostname(host, secrets.token_hex(6))))
        with context.phase(host, Phase.HEALTH, role.name):
            if role.running_proxy:
                wait_healthy(context, host, config, role, new_container)
            else:
                wait_running(context, host, config, app, version)
                # Without the proxy, the new container is the role's from here: the old one stops next.
                serving_new()
        if role.running_proxy:
            context.check_cancelled(host)
            proxy = role.proxy
            assert proxy is not None
            route, target = route_for(role), f"{container_ref(context, host, new_container)}:{proxy.app_port}"
            with context.phase(host, Phase.SWITCH, role.name):
                previous = driver.switch(host, route, target)
                serving_new()
            if previous:
                with context.phase(host, Phase.DRAIN, role.name):
                    driver.wait_drained(host, previous, float(config.drain_timeout))
    except BaseException:
        if not switched:
            # The route was not touched: what ran before still serves.
            outcome.version_after = outcome.version_before
        if ran_new and not switched:
            try:
                outcome.record(executor.change(host, app.engine_stop(version), check=False))
            except HostError:
                pass  # the host is gone: the error being raised says so
        raise

    with context.phase(host, Phase.STOP, role.name):
        if previous:
            # Before the stop: no request of the route can reach the old container from here.
            driver.settle(host, route, target)
        if old_version and old_version != version:
            outcome.record(executor.change(host, app.engine_stop(old_version), check=False))
            assets.clean_up(context, app, host, outcome)
    outcome.version_after = version
