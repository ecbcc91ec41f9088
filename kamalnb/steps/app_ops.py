"""`kamal app …` beyond deploys: boot, start, stop, details, containers, images, version,
stale_containers, remove and logs (reference sections 1.3 and 3.13), with Kamal's command
lines. Listing verbs return a `Listing` (text per host, and a table)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.commands import Server
from kamalnb.commands.base import Command
from kamalnb.errors import ConfigError, error_text
from kamalnb.events import Phase
from kamalnb.listing import Block, Listing, docker_table, log_lines
from kamalnb.results import Report, StepRecorder
from kamalnb.steps import lock
from kamalnb.steps import proxy as proxy_steps
from kamalnb.steps.boot import route_for
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    from kamalnb.config import Role

# Kamal's default number of log lines, and when following.
LOG_LINES = 100
FOLLOW_LINES = 10

VERSION_COLUMNS = ("version",)
STALE_COLUMNS = ("version", "stopped")
LOG_COLUMNS = ("time", "line")


def primary_host(config: Any) -> str:
    host = config.specifics.primary_host
    if not host:
        raise ConfigError("No host is selected: check servers in deploy.yml and the -h/-r options")
    return str(host)


# ---- listings -----------------------------------------------------------------------------

def collect(context: StepContext, title: str, items: Sequence[Hashable],
            output: Callable[[str, Role | None], str], *, columns: Sequence[str] = (),
            parse: Callable[[str], list[dict[str, Any]]] = docker_table) -> Listing:
    """`output(host, role)` for every item (a host, or a (host, role) pair) in parallel; a
    host that fails gives its block an error instead of failing the listing."""

    def split(item: Hashable) -> tuple[str, Role | None]:
        return (item[0], item[1]) if isinstance(item, tuple) else (str(item), None)

    outcomes = context.parallel(items, lambda item: output(*split(item)))
    listing = Listing(title, columns=columns, parse=parse)
    for item in items:
        host, role = split(item)
        name = role.name if role is not None else None
        if item in outcomes.errors:
            listing.blocks.append(Block(host, name, "", error_text(outcomes.errors[item])))
        elif item in outcomes.results:
            listing.blocks.append(Block(host, name, outcomes.results[item]))
    return listing


def _stdout(context: StepContext, host: str, command: Command) -> str:
    return context.executor.run(host, command).stdout


def details(context: StepContext) -> Listing:
    """`docker ps` of the app's containers, per role and host."""
    config = context.config
    return collect(context, "app details", config.specifics.role_hosts,
                   lambda host, role: _stdout(context, host, AppCommands(config, role, host).info()))


def containers(context: StepContext) -> Listing:
    """`docker container ls --all` of this service and destination, once per host."""
    config = context.config
    return collect(context, "app containers", config.specifics.app_hosts,
                   lambda host, _: _stdout(context, host, AppCommands(config, None, host).list_containers()))


def images(context: StepContext) -> Listing:
    """`docker image ls <repository>`, once per host."""
    config = context.config
    return collect(context, "app images", config.specifics.app_hosts,
                   lambda host, _: _stdout(context, host, AppCommands(config, None, host).list_images()))


def version(context: StepContext) -> Listing:
    """The version running on each app host (its first role's, as in Kamal)."""
    config = context.config

    def read(host: str, _: Role | None) -> str:
        role = config.specifics.roles_on(host)[0]
        return context.executor.read(host, facts.running_version(AppCommands(config, role, host))) or ""

    return collect(context, "app version", config.specifics.app_hosts, read, columns=VERSION_COLUMNS,
                   parse=lambda text: [{"version": text.strip() or None}])


def stale_versions(context: StepContext, host: str, app: AppCommands) -> list[str]:
    """The versions of `app`'s role running on the host besides its current one (Kamal's
    stale containers)."""
    running = context.executor.read(host, facts.running_versions(app))
    current = context.executor.read(host, facts.running_version(app))
    return [version for version in running if version != current]


def stale_containers(context: StepContext, *, stop: bool = False) -> Listing:
    """Running containers of a role that are not its current version; stopped (under the
    lock) with `stop`."""
    config = context.config

    def on(host: str, role: Role | None) -> str:
        assert role is not None
        app = AppCommands(config, role, host)
        lines = []
        for version in stale_versions(context, host, app):
            if stop:
                lines.append(f"Stopping stale container for role {role.name} with version {version}")
                context.executor.change(host, app.engine_stop(version), check=False)
            else:
                lines.append(f"Detected stale container for role {role.name} with version {version} "
                             "(use `kamalnb app stale_containers --stop` to stop)")
        return "\n".join(lines)

    def parse(text: str) -> list[dict[str, Any]]:
        return [{"version": line.split(" with version ", 1)[1].split(" ", 1)[0], "stopped": line.startswith("Stop")}
                for line in text.splitlines() if " with version " in line]

    def run() -> Listing:
        return collect(context, "app stale_containers", config.specifics.role_hosts, on,
                       columns=STALE_COLUMNS, parse=parse)

    if not stop:
        return run()
    with lock.held(context):
        return run()


def logs(context: StepContext, *, lines: int | None = None, since: str | None = None, grep: str | None = None,
         grep_options: str | None = None, container_id: str | None = None, timestamps: bool = True) -> Listing:
    """The last log lines of the app's current container, per role and host (Kamal's
    default: 100 lines unless `since` or `grep` is given)."""
    config = context.config
    if lines is None and not since and not grep:
        lines = LOG_LINES

    def read(host: str, role: Role | None) -> str:
        command = AppCommands(config, role, host).logs(
            container_id=container_id, timestamps=timestamps, since=since, lines=lines, grep=grep,
            grep_options=grep_options)
        # grep finding nothing exits 1: an empty answer, not a failure.
        result = context.executor.run(host, command, check=not grep)
        if grep and result.exit_status not in (0, 1):
            result.check()
        return result.stdout

    return collect(context, "app logs", config.specifics.role_hosts, read, columns=LOG_COLUMNS, parse=log_lines)


def follow_logs(context: StepContext, write: Callable[[str], None], *, lines: int | None = None,
                grep: str | None = None, grep_options: str | None = None, container_id: str | None = None,
                timestamps: bool = True) -> None:
    """Stream the current container's log on the primary host (its first role), line by line
    into `write`, until interrupted; the interrupt closes the SSH channel."""
    config = context.config
    host = primary_host(config)
    role = config.specifics.roles_on(host)[0]
    app = AppCommands(config, role, host)
    logs = app.logs(container_id=container_id, timestamps=timestamps, lines=lines or FOLLOW_LINES, grep=None)
    # Kamal's follow pipeline: the same id source, `--follow`, and grep with double quotes.
    line = logs.render().replace(" 2>&1", " --follow 2>&1", 1)
    if grep:
        line += f' | grep "{grep}"' + (f" {grep_options}" if grep_options else "")

    stream = getattr(context.executor, "stream", None)
    if stream is None:
        # Plan mode (or an executor without terminals): the command is recorded, not streamed.
        context.executor.run(host, Command((line,)), check=False)
        return
    stream(host, Command((line,)), write)


def follow_command(context: StepContext, *, lines: int | None = None, grep: str | None = None,
                   grep_options: str | None = None, container_id: str | None = None,
                   timestamps: bool = True) -> Command:
    """Kamal's `ssh -t … '<docker logs --follow>'` line for a terminal."""
    config = context.config
    host = primary_host(config)
    role = config.specifics.roles_on(host)[0]
    return AppCommands(config, role, host).follow_logs(
        host, container_id=container_id, timestamps=timestamps, lines=lines or FOLLOW_LINES, grep=grep,
        grep_options=grep_options)


# ---- lifecycle ----------------------------------------------------------------------------

def _on_pairs(context: StepContext, title: str, phase: str,
              action: Callable[[str, Role, StepRecorder], None]) -> Report:
    pairs = context.config.specifics.role_hosts
    recorder = StepRecorder(title, context.events, context.config.specifics.app_hosts, planned=context.plan,
                            roles=context.config.specifics.role_host_names)

    def on(pair: tuple[str, Role]) -> None:
        host, role = pair
        action(host, role, recorder)

    recorder.absorb(context.parallel(pairs, on))
    return recorder.finish().raise_on_failure()


def start(context: StepContext) -> Report:
    """`docker start <prefix>-<version>`; proxied roles are routed to the current container again."""
    config = context.config
    driver = proxy_steps.driver(context)

    def action(host: str, role: Role, recorder: StepRecorder) -> None:
        with recorder.host(host, Phase.START, role=role.name) as outcome:
            app = AppCommands(config, role, host)
            context.audit(host, f"Started app version {config.version}", role=role.name)
            outcome.record(context.executor.run(host, app.start()))
            if role.running_proxy and role.proxy is not None:
                current = context.executor.read(host, facts.running_version(app))
                if current:
                    driver.switch(host, route_for(role), f"{app.container_name(current)}:{role.proxy.app_port}")
            outcome.version_after = config.version

    with lock.held(context):
        return _on_pairs(context, "app start", Phase.START, action)


def stop(context: StepContext) -> Report:
    """Proxied roles leave the proxy first, then the current container stops."""
    config = context.config
    driver = proxy_steps.driver(context)

    def action(host: str, role: Role, recorder: StepRecorder) -> None:
        with recorder.host(host, Phase.STOP, role=role.name) as outcome:
            app = AppCommands(config, role, host)
            context.audit(host, "Stopped app", role=role.name)
            if role.running_proxy and context.executor.read(host, facts.running_version(app)):
                driver.remove_route(host, route_for(role).id)
            outcome.record(context.executor.run(host, app.stop(), check=False))

    with lock.held(context):
        return _on_pairs(context, "app stop", Phase.STOP, action)


def remove(context: StepContext, *, locked: bool = False) -> Report:
    """Stop and remove the app's containers; on hosts losing every role, its images and
    directories too (Kamal's `app remove`)."""
    config = context.config
    specifics = config.specifics
    driver = proxy_steps.driver(context)
    recorder = StepRecorder("app remove", context.events, specifics.app_hosts, planned=context.plan)

    def on(host: str) -> None:
        with recorder.host(host, Phase.STOP) as outcome:
            run = context.executor.run
            for role in specifics.roles_on(host):
                app = AppCommands(config, role, host)
                context.audit(host, "Stopped app", role=role.name)
                if role.running_proxy:
                    driver.remove_route(host, route_for(role).id)
                outcome.record(run(host, app.stop(), check=False))
                context.audit(host, "Removed app containers", role=role.name)
                outcome.record(run(host, app.remove_containers()))
            if all(role in specifics.roles_on(host) for role in config.host_roles(host)):
                app = AppCommands(config, None, host)
                context.audit(host, "Removed app images")
                outcome.record(run(host, app.remove_images()))
                context.audit(host, "Removed app directory")
                outcome.record(run(host, Server(config).remove_app_directory(), check=False))
                outcome.record(run(host, app.remove_proxy_app_directory(), check=False))

    def go() -> Report:
        recorder.absorb(context.parallel(specifics.app_hosts, on))
        return recorder.finish().raise_on_failure()

    if locked:
        return go()
    with lock.held(context):
        return go()
