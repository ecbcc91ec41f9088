"""Accessories: the services beside the app (databases, caches). Kamal's `kamal accessory`
verbs (reference sections 1.4 and 3.14) with Kamal's command lines, audit lines and order:
boot skips hosts where a container of the accessory exists in any state, reboot pulls,
stops, removes and boots again, remove takes the container, image and service directory.

Every verb works on one accessory or on `all` of them (one after another, as Kamal does),
on the accessory's hosts that the global options select, each host in parallel, under the
deploy lock; the report has a row per host and accessory (the accessory in `role`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamalnb import facts
from kamalnb.commands import Docker, Registry
from kamalnb.commands import accessory as accessory_commands
from kamalnb.commands.base import Command, make_directory_for
from kamalnb.errors import CommandFailed, ConfigError, HostError
from kamalnb.events import Phase
from kamalnb.proxy.base import Route
from kamalnb.results import HostOutcome, Outputs, Report, Result, StepRecorder
from kamalnb.sensitive import Secret
from kamalnb.steps import lock
from kamalnb.steps import proxy as proxy_steps
from kamalnb.steps import tls as tls_steps
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    import pandas

    from kamalnb.config import Accessory, Configuration

ALL = "all"
DEFAULT_LOG_LINES = 100


# ---- which accessories, on which hosts -----------------------------------------------------

def select(config: Configuration, name: str) -> list[Accessory]:
    """The accessory called `name`, or every one for `all`; a name that does not exist is
    an error listing the ones that do."""
    known = [accessory.name for accessory in config.accessories]
    if name == ALL:
        # As Kamal: `all` of none is nothing to do.
        return list(config.accessories)
    accessory = config.accessory(name)
    if accessory is None:
        options = f" (options: {', '.join(known)})" if known else " (the configuration has no accessories)"
        raise ConfigError(f"No accessory by the name of '{name}'{options}")
    return [accessory]


def hosts_of(context: StepContext, accessory: Accessory) -> list[str]:
    """The accessory's hosts that the global options (-h, -r, -p) select."""
    selected = context.config.specifics.accessory_hosts
    return [host for host in accessory.hosts if host in selected]


def _all_hosts(context: StepContext, accessories: Iterable[Accessory]) -> list[str]:
    return list(dict.fromkeys(host for accessory in accessories for host in hosts_of(context, accessory)))


class _Host:
    """One accessory on one host: its commands, recorded into the host's outcome."""

    def __init__(self, context: StepContext, accessory: Accessory, host: str, outcome: HostOutcome) -> None:
        self.context = context
        self.accessory = accessory
        self.name = accessory.name
        self.host = host
        self.outcome = outcome
        self.commands = accessory_commands.Accessory(context.config, accessory.name)

    def run(self, command: Command, check: bool = True) -> Result:
        return self.outcome.record(self.context.executor.run(self.host, command, check=check))

    def audit(self, line: str) -> None:
        self.context.audit(self.host, line)

    def phase(self, phase: Phase) -> Any:
        return self.context.phase(self.host, phase, self.name)


def _each_host(context: StepContext, title: str, accessories: list[Accessory],
               work: Callable[[_Host], None], hosts: list[str] | None = None) -> Report:
    """`work` for each accessory (one after another) on each of its selected hosts (in
    parallel), every host's outcome in one report."""
    recorder = StepRecorder(title, context.events, _all_hosts(context, accessories), planned=context.plan)
    for accessory in accessories:
        targets = [host for host in hosts_of(context, accessory) if hosts is None or host in hosts]

        def on(host: str, accessory: Accessory = accessory) -> None:
            with recorder.host(host, Phase.ACCESSORY, role=accessory.name) as outcome:
                work(_Host(context, accessory, host, outcome))

        recorder.absorb(context.parallel(targets, on))
    return recorder.finish().raise_on_failure()


# ---- boot --------------------------------------------------------------------------------

def _prepare(on: _Host) -> None:
    """Kamal's prepare: log in to the accessory's registry (else the app's), create the `kamal` network."""
    login = Registry(on.context.config).login(on.accessory.registry)
    if login is not None:
        on.run(login)
    result = on.run(Docker().create_network(), check=False)
    if not result.ok and "already exists" not in result.stderr:
        result.check()


def _local_files(accessory: Accessory, hosts: list[str]) -> dict[str, bytes | Secret]:
    """Every `files` source read (ERB rendered) before any host is touched: a missing one
    stops the boot with nothing changed anywhere."""
    contents: dict[str, bytes | Secret] = {}
    for path in accessory.files.values():
        try:
            contents[path.host_path] = accessory.file_content(path)
        except ConfigError as error:
            where = ", ".join(hosts) or "no host"
            raise ConfigError(f"accessory {accessory.name} (for {where}): {error}; create it, or remove it from "
                              f"accessories/{accessory.name}/files") from None
    return contents


def _directories(on: _Host) -> None:
    # As Kamal: by the directory's key, `$PWD/<service>/<local>` or the absolute path.
    for directory, path in on.accessory.directories.items():
        on.run(on.commands.make_directory(directory))
        if path.mode:
            on.run(on.commands.chmod(str(path.mode), directory))
        if path.owner:
            on.run(on.commands.chown(str(path.owner), directory))


def _upload_files(on: _Host, contents: dict[str, bytes | Secret]) -> None:
    for path in on.accessory.files.values():
        on.run(make_directory_for(path.host_path))
        # 0600 until chmod: a rendered ERB file may hold secrets.
        on.outcome.record(on.context.executor.upload(on.host, contents[path.host_path], path.host_path, mode=0o600))
        if path.mode:
            on.run(on.commands.chmod(str(path.mode), path.host_path))
        if path.owner:
            on.run(on.commands.chown(str(path.owner), path.host_path))


def _start_failure(on: _Host, error: CommandFailed) -> HostError:
    """Why `docker run` failed, in the words a user acts on."""
    text = f"{error.stderr}\n{error.stdout}"
    reason = next((line.strip() for line in reversed(text.strip().splitlines()) if line.strip()), "")
    port = on.accessory.port
    if "port is already allocated" in text or "address already in use" in text:
        hint = (f"port {port} is already taken on {on.host}: free it, or change accessories/{on.name}/port"
                if port else f"a port it publishes is already taken on {on.host}")
    elif any(words in text for words in ("pull access denied", "manifest unknown", "not found",
                                         "Unable to find image", "no such host", "connection refused")):
        hint = (f"the image {on.accessory.image} cannot be pulled on {on.host}: check accessories/{on.name}/image "
                "and the registry (and its login)")
    else:
        hint = f"`docker run` of {on.commands.service_name} failed on {on.host}"
    return HostError(on.host, f"accessory {on.name}: {hint} ({reason}); nothing was left running")


def _boot_on(on: _Host, contents: dict[str, bytes | Secret]) -> None:
    """Kamal's boot on one host: skip it if a container exists (any state); the directories
    and files go up either way; then the env file, `docker run`, and the proxy route."""
    executor = on.context.executor
    exists = executor.read(on.host, facts.accessory_exists(on.commands))
    _directories(on)
    _upload_files(on, contents)
    if exists:
        on.outcome.status = "skipped"
        return
    with on.phase(Phase.START):
        on.audit(f"Booted {on.name} accessory")
        on.run(on.commands.ensure_env_directory())
        env_file = on.commands.env_file()
        on.outcome.record(executor.upload(on.host, env_file.content, env_file.path, mode=env_file.mode))
        try:
            on.run(on.commands.run(host=on.host))
        except CommandFailed as error:
            # A port clash leaves a created container behind: remove it, or every later boot
            # would skip this host.
            executor.run(on.host, on.commands.remove_container(), check=False)
            raise _start_failure(on, error) from None
    if on.accessory.running_proxy:
        _route(on)
    on.outcome.version_after = on.accessory.image


def boot(context: StepContext, name: str, *, hosts: list[str] | None = None, prepare: bool = True) -> Report:
    """`accessory boot NAME|all`: start the accessory where no container of it exists yet."""
    accessories = select(context.config, name)
    tls_steps.refuse_accessories(accessories)
    files = {accessory.name: _local_files(accessory, hosts_of(context, accessory)) for accessory in accessories}
    with lock.held(context):
        def work(on: _Host) -> None:
            if prepare:
                _prepare(on)
            _boot_on(on, files[on.name])

        return _each_host(context, "accessory boot", accessories, work, hosts)


# ---- the proxy, for accessories served through it ---------------------------------------------

def _route(on: _Host) -> None:
    proxy = on.accessory.proxy
    assert proxy is not None
    service = on.commands.service_name
    # kamal-proxy's default without TLS (accessories have none here): forwarded headers kept.
    route = Route(id=service, hosts=tuple(proxy.hosts), forward_headers=proxy.forward_headers is not False)
    target = f"{service}:{proxy.app_port}"
    driver = proxy_steps.driver(on.context)
    with on.phase(Phase.SWITCH):
        if driver.switch(on.host, route, target):
            driver.settle(on.host, route, target)


def _unroute(on: _Host) -> None:
    with on.phase(Phase.SWITCH):
        proxy_steps.driver(on.context).remove_route(on.host, on.commands.service_name)


# ---- start, stop, restart, reboot, remove, upgrade -------------------------------------------

def _start(on: _Host) -> None:
    with on.phase(Phase.START):
        on.audit(f"Started {on.name} accessory")
        on.run(on.commands.start())
    if on.accessory.running_proxy:
        _route(on)


def _stop(on: _Host) -> None:
    with on.phase(Phase.STOP):
        on.audit(f"Stopped {on.name} accessory")
        on.run(on.commands.stop(), check=False)
    if on.accessory.running_proxy:
        _unroute(on)


def start(context: StepContext, name: str) -> Report:
    with lock.held(context):
        return _each_host(context, "accessory start", select(context.config, name), _start)


def stop(context: StepContext, name: str) -> Report:
    with lock.held(context):
        return _each_host(context, "accessory stop", select(context.config, name), _stop)


def restart(context: StepContext, name: str) -> Report:
    def work(on: _Host) -> None:
        _stop(on)
        _start(on)

    with lock.held(context):
        return _each_host(context, "accessory restart", select(context.config, name), work)


def _remove_container(on: _Host) -> None:
    with on.phase(Phase.REMOVE):
        on.audit(f"Remove {on.name} accessory container")
        on.run(on.commands.remove_container())


def reboot(context: StepContext, name: str, *, hosts: list[str] | None = None, title: str = "accessory reboot"
           ) -> Report:
    """`accessory reboot`: pull the image first (a failed pull changes nothing), then stop,
    remove and boot the container again; the data in volumes and directories stays."""
    accessories = select(context.config, name)
    files = {accessory.name: _local_files(accessory, hosts_of(context, accessory)) for accessory in accessories}

    def work(on: _Host) -> None:
        _prepare(on)
        with on.phase(Phase.PULL):
            on.audit(f"Pull {on.name} accessory image")
            try:
                on.run(on.commands.pull_image())
            except CommandFailed as error:
                raise _start_failure(on, error) from None
        _stop(on)
        _remove_container(on)
        _boot_on(on, files[on.name])

    with lock.held(context):
        return _each_host(context, title, accessories, work, hosts)


def upgrade(context: StepContext, name: str, *, rolling: bool = False) -> Report:
    """`accessory upgrade` (Kamal 1 to 2): reboot the accessories into the `kamal` network,
    host by host with `rolling`."""
    accessories = select(context.config, name)
    hosts = _all_hosts(context, accessories)
    groups = [[host] for host in hosts] if rolling else [hosts]
    report = Report("accessory upgrade")
    with lock.held(context):
        for group in groups:
            part = reboot(context, name, hosts=group, title="accessory upgrade")
            report.outcomes += part.outcomes
            report.duration += part.duration
    return report


def remove(context: StepContext, name: str, *, volumes: bool = False) -> Report:
    """`accessory remove`: stop, remove the container and the image, delete the service
    directory (uploaded files, relative directories) and the env file; named volumes only
    with `volumes`."""
    def work(on: _Host) -> None:
        _stop(on)
        _remove_container(on)
        with on.phase(Phase.REMOVE):
            on.audit(f"Removed {on.name} accessory image")
            on.run(on.commands.remove_image())
            on.run(on.commands.remove_service_directory())
            on.run(Command.from_argv(["rm", "-f", on.accessory.secrets_path]))
            remove_volumes = on.commands.remove_volumes() if volumes else None
            if remove_volumes is not None:
                on.run(remove_volumes)

    with lock.held(context):
        return _each_host(context, "accessory remove", select(context.config, name), work)


# ---- exec and logs ----------------------------------------------------------------------------

def login_first_host(context: StepContext, name: str) -> str:
    """Before an interactive `exec` in a new container: the registry login on the
    accessory's first host, where Kamal runs it; that host."""
    accessory = select(context.config, name)[0]
    if not accessory.hosts:
        raise ConfigError(f"accessory {name} has no host")
    host = accessory.hosts[0]
    login = Registry(context.config).login()
    if login is not None:
        context.executor.run(host, login)
    return host


def exec_(context: StepContext, name: str, command: str, *, reuse: bool = False) -> Outputs:
    """`accessory exec`: in a new container of the accessory's image (`docker run --rm`,
    after the registry login), or with `reuse` in the running one; output by host."""
    accessory = select(context.config, name)[0] if name != ALL else None
    if accessory is None:
        raise ConfigError("accessory exec runs in one accessory: name it")
    title = f"accessory exec {name}: {command}"
    outputs: dict[str, str] = {}
    login = Registry(context.config).login()

    def work(on: _Host) -> None:
        if not reuse and login is not None:
            on.run(login)
        on.audit(f"Executed cmd '{command}' on {on.name} accessory")
        if reuse:
            outputs[on.host] = on.run(on.commands.execute_in_existing_container(command)).stdout
        else:
            outputs[on.host] = on.run(on.commands.execute_in_new_container(command)).stdout

    return _outputs(context, title, accessory, work, outputs)


def logs(context: StepContext, name: str, *, lines: int | None = None, since: str | None = None,
         grep: str | None = None, grep_options: str | None = None, timestamps: bool = True) -> Outputs:
    """The accessory's log lines on each of its hosts (100 unless `since` or `grep` says)."""
    accessory = select(context.config, name)[0] if name != ALL else None
    if accessory is None:
        raise ConfigError("accessory logs reads one accessory: name it")
    if lines is None and not (since or grep):
        lines = DEFAULT_LOG_LINES
    outputs: dict[str, str] = {}

    def work(on: _Host) -> None:
        result = on.run(on.commands.logs(timestamps=timestamps, since=since, lines=lines, grep=grep,
                                         grep_options=grep_options), check=not grep)
        # grep finding nothing exits 1: no lines, not a failure.
        if not result.ok and not (grep and result.exit_status == 1):
            result.check()
        outputs[on.host] = result.stdout

    return _outputs(context, f"accessory logs {name}", accessory, work, outputs)


def _outputs(context: StepContext, title: str, accessory: Accessory, work: Callable[[_Host], None],
             outputs: dict[str, str]) -> Outputs:
    hosts = hosts_of(context, accessory)
    recorder = StepRecorder(title, context.events, hosts, planned=context.plan)

    def on(host: str) -> None:
        with recorder.host(host, Phase.EXEC, role=accessory.name) as outcome:
            work(_Host(context, accessory, host, outcome))

    recorder.absorb(context.parallel(hosts, on))
    report = recorder.finish()
    errors = {outcome.host: outcome.error_message for outcome in report.failed}
    return Outputs(title, {host: outputs[host] for host in hosts if host in outputs}, errors)


# ---- details -------------------------------------------------------------------------------------

DETAIL_COLUMNS = ["accessory", "host", "container", "image", "state", "ports", "uptime", "error"]


@dataclass(frozen=True)
class AccessoryRow:
    accessory: str
    host: str
    container: str | None
    image: str | None
    state: str
    ports: str | None
    uptime: str | None
    error: str | None = None


class AccessoryDetails:
    """Every accessory on every host: a text table, an HTML table, `.to_frame()`."""

    def __init__(self, rows: list[AccessoryRow]) -> None:
        self.rows = rows

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        return frame([vars(row) for row in self.rows], DETAIL_COLUMNS)

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        columns = [c for c in DETAIL_COLUMNS if c != "error" or any(row.error for row in self.rows)]
        return columns, [[str(getattr(row, c) or "") for c in columns] for row in self.rows]

    def __str__(self) -> str:
        columns, rows = self._cells()
        if not rows:
            return "No accessory on the selected hosts"
        widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                         for r in [columns, *rows])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        columns, rows = self._cells()
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(cell)}</td>" for cell in r)
                       + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def details(context: StepContext, name: str = ALL) -> AccessoryDetails:
    """`accessory details`: each accessory's container on each of its hosts; an accessory
    not booted on a host shows as `missing`, a host that cannot be asked shows its error."""
    accessories = select(context.config, name)
    pairs = [(host, accessory.name) for accessory in accessories for host in hosts_of(context, accessory)]
    by_name = {accessory.name: accessory for accessory in accessories}

    def ask(pair: tuple[str, str]) -> list[facts.AccessoryContainer]:
        host, accessory_name = pair
        commands = accessory_commands.Accessory(context.config, accessory_name)
        return context.executor.read(host, facts.accessory_containers(commands))

    outcomes = context.parallel(pairs, ask)
    rows = []
    for pair in pairs:
        host, accessory_name = pair
        if pair in outcomes.errors:
            rows.append(AccessoryRow(accessory_name, host, None, None, "unknown", None, None,
                                     outcomes.errors[pair].detail))
            continue
        found = outcomes.results[pair]
        if not found:
            rows.append(AccessoryRow(accessory_name, host, None, by_name[accessory_name].image, "missing", None, None))
        for container in found:
            rows.append(AccessoryRow(accessory_name, host, container.name, container.image, container.state,
                                     container.ports or None, container.uptime))
    return AccessoryDetails(rows)
