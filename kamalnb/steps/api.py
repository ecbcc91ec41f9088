"""Every step as a call on the `App`: `app.deploy()`, `app.lock.status()`, `app.proxy.boot()`.

Each call shows live progress (a board in a kernel, lines in a terminal, see kamalnb.ui)
and returns a report. The command line calls exactly these.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from kamalnb import state
from kamalnb.commands import App as AppCommands
from kamalnb.commands.base import Command
from kamalnb.events import Events, StepFinished, StepStarted
from kamalnb.executors.base import Executor
from kamalnb.errors import StepFailed
from kamalnb.results import PhaseLog, Report, StepRecorder
from kamalnb.steps import deploy as deploy_steps
from kamalnb.steps import lock as lock_steps
from kamalnb.steps.context import StepContext
from kamalnb.steps.plan import Plan, PhaseTracker, plan_executor

if TYPE_CHECKING:
    import pandas

    from kamalnb.app import App

T = TypeVar("T")


def run_step(app: "App", command: str, step: Callable[[StepContext], T], *, subcommand: str | None = None,
             ui: str | None = "auto", executor: Executor | None = None, events: Events | None = None,
             plan: bool = False) -> Any:
    """Run `step` with a fresh context, its progress shown by the listener `ui` selects.

    With `plan=True` nothing runs and nothing is contacted: the result is a `Plan` of the
    exact commands per host and phase. `ui="silent"` shows nothing at all, for callers that
    print the outcome themselves.
    """
    from kamalnb.ui.detect import listener_for

    events = events or Events()
    listener = None if ui == "silent" else events.subscribe(
        listener_for(ui, verbose=app.options.verbose, quiet=app.options.quiet))
    phases = events.subscribe(PhaseLog())
    name = " ".join(filter(None, (command, subcommand)))
    # One step around the inner ones (build, pull, boot...): a display shows them as one.
    events.emit(StepStarted(name))
    started = time.monotonic()
    ok, report = False, None
    try:
        if plan:
            planner = plan_executor(command)
            planner.events = events
            tracker = PhaseTracker(planner)
            events.subscribe(tracker)
            with StepContext(app, command=command, subcommand=subcommand, executor=planner, local=planner,
                             events=events, plan=True) as context:
                report = step(context)
            ok = True
            return Plan(name, planner, tracker, report, host_order=list(app.config.all_hosts))
        with StepContext(app, command=command, subcommand=subcommand, executor=executor, events=events) as context:
            report = step(context)
        if isinstance(report, Report):
            report.phases = phases.spans
        ok = True
        return report
    except StepFailed as failure:
        report = failure.report
        if isinstance(report, Report):
            report.phases = phases.spans
        raise
    finally:
        events.emit(StepFinished(name, ok, time.monotonic() - started, report if isinstance(report, Report) else None))
        events.unsubscribe(phases)
        if listener is not None:
            events.unsubscribe(listener)
            listener.close()


class _Verbs:
    def __init__(self, app: "App") -> None:
        self._app = app

    def _run(self, command: str, step: Callable[[StepContext], T], subcommand: str | None, **options: Any) -> T:
        return run_step(self._app, command, step, subcommand=subcommand, **options)


class LockVerbs(_Verbs):
    """`app.lock.status()`, `.acquire(message)`, `.release(force=False)`."""

    def status(self, **options: Any) -> lock_steps.LockStatus:
        return self._run("lock", lock_steps.status, "status", **options)

    def acquire(self, message: str, **options: Any) -> lock_steps.LockStatus:
        return self._run("lock", lambda context: lock_steps.acquire(context, message), "acquire", **options)

    def release(self, *, force: bool = False, **options: Any) -> lock_steps.LockStatus:
        return self._run("lock", lambda context: lock_steps.release(context, force=force), "release", **options)


class ProxyVerbs(_Verbs):
    """`app.proxy.boot()`, `.reboot()`, `.remove()`, `.details()`, `.logs()`, `.routes()`."""

    def _each(self, subcommand: str, action: Callable[[deploy_steps.CaddyDriver, str], Any], audit_line: str,
              hook: str | None = None, **options: Any) -> Report:
        """`action` on every proxy host, each with Kamal's audit line; `hook` names the
        pre-/post- hooks around it (Kamal's pre-proxy-reboot and post-proxy-reboot)."""
        def step(context: StepContext) -> Report:
            hosts = deploy_steps.proxied_hosts(context.config)
            recorder = StepRecorder(f"proxy {subcommand}", context.events, hosts, planned=context.plan)
            driver = deploy_steps.driver(context)
            if hook:
                context.hook(f"pre-{hook}", hosts=hosts)

            def on(host: str) -> None:
                with recorder.host(host, "proxy"):
                    context.audit(host, audit_line)
                    action(driver, host)

            context.parallel(hosts, on)
            report = recorder.finish().raise_on_failure()
            if hook:
                context.hook(f"post-{hook}", hosts=hosts)
            return report

        return self._run("proxy", step, subcommand, **options)

    def boot(self, **options: Any) -> Report:
        return self._run("proxy", deploy_steps.proxy_boot, "boot", **options)

    def reboot(self, **options: Any) -> Report:
        return self._each("reboot", lambda driver, host: driver.reboot(host), "Rebooted proxy",
                          hook="proxy-reboot", **options)

    def remove(self, **options: Any) -> Report:
        return self._each("remove", lambda driver, host: driver.remove(host), "Removed proxy container", **options)

    def _texts(self, subcommand: str, action: Callable[[deploy_steps.CaddyDriver, str], str],
               **options: Any) -> dict[str, str]:
        def step(context: StepContext) -> dict[str, str]:
            hosts = deploy_steps.proxied_hosts(context.config)
            driver = deploy_steps.driver(context)
            results = context.parallel(hosts, lambda host: action(driver, host))
            return {host: value if isinstance(value, str) else f"ERROR: {value}" for host, value in results.items()}

        return self._run("proxy", step, subcommand, **options)

    def details(self, **options: Any) -> dict[str, str]:
        """`docker ps` of the proxy container, per host."""
        return self._texts("details", lambda driver, host: driver.details(host), **options)

    def logs(self, lines: int = 100, **options: Any) -> dict[str, str]:
        """The proxy's last log lines, per host."""
        return self._texts("logs", lambda driver, host: driver.logs(host, lines), **options)

    def routes(self, *, executor: Executor | None = None) -> "pandas.DataFrame":
        """Each host's proxy routes, their upstreams and requests in flight."""
        return state.routes(self._app, executor or self._app.connection())


class Outputs:
    """What a command printed on each host: Kamal's `App Host:` blocks, a table, a frame."""

    def __init__(self, title: str, outputs: "dict[str, str]", errors: "dict[str, str]") -> None:
        self.title = title
        self.outputs = outputs
        self.errors = errors

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        blocks = [f"App Host: {host}\n{text.rstrip()}" for host, text in self.outputs.items()]
        blocks += [f"App Host: {host}\nERROR: {error}" for host, error in self.errors.items()]
        return "\n\n".join(blocks)

    __repr__ = __str__

    def to_frame(self) -> "pandas.DataFrame":
        import pandas

        rows = [{"host": h, "output": t, "error": None} for h, t in self.outputs.items()]
        rows += [{"host": h, "output": None, "error": e} for h, e in self.errors.items()]
        return pandas.DataFrame(rows, columns=["host", "output", "error"])

    def _repr_html_(self) -> str:
        import html

        cells = "".join(
            f"<tr><td>{html.escape(host)}</td><td><pre>{html.escape(text)}</pre></td></tr>"
            for host, text in [*self.outputs.items(), *((h, f"ERROR: {e}") for h, e in self.errors.items())])
        return f"<p><b>{html.escape(self.title)}</b></p><table>{cells}</table>"


def _exec_on_hosts(context: StepContext, title: str, hosts: list[str],
                   build: Callable[[str], tuple[Command, str]]) -> Outputs:
    """Run a command per host (with its audit line first); outputs and errors by host."""
    recorder = StepRecorder(title, context.events, hosts, planned=context.plan)
    outputs: dict[str, str] = {}

    def on(host: str) -> None:
        command, audit_line = build(host)
        with recorder.host(host, "exec") as outcome:
            context.audit(host, audit_line)
            outputs[host] = outcome.record(context.executor.run(host, command)).stdout

    context.parallel(hosts, on)
    report = recorder.finish()
    errors = {o.host: o.error_message for o in report.failed}
    return Outputs(title, {h: outputs[h] for h in hosts if h in outputs}, errors)


class AppVerbs(_Verbs):
    """`app.app.exec(cmd)`: a command in the app's image on every selected host."""

    def exec(self, command: str, *, reuse: bool = False, env: "dict[str, str] | None" = None,
             **options: Any) -> Outputs:
        """In a new container of the configured version, or with `reuse` in the running one.

        As in Kamal, `command` is put on the remote command line as it is: quote what the
        host's shell must not interpret."""
        def step(context: StepContext) -> Outputs:
            config = context.config
            hosts = deploy_steps.app_hosts(config)

            def build(host: str) -> tuple[Command, str]:
                role = next(r for r in config.specifics.roles if host in r.hosts)
                app = AppCommands(config, role, host)
                audit_line = f"Executed cmd '{command}' on app version {config.version}"
                if reuse:
                    return app.execute_in_existing_container(command, env=env or {}), audit_line
                return app.execute_in_new_container(command, env=env or {}, suffix=secrets.token_hex(3)), audit_line

            return _exec_on_hosts(context, f"app exec: {command}", hosts, build)

        return self._run("app", step, "exec", **options)


class ServerVerbs(_Verbs):
    """`app.server.exec(cmd)`: a shell command on every selected host."""

    def exec(self, command: str, **options: Any) -> Outputs:
        def step(context: StepContext) -> Outputs:
            hosts = list(context.config.specifics.hosts)
            return _exec_on_hosts(context, f"server exec: {command}", hosts,
                                  lambda host: (Command((command,)), f"Executed cmd '{command}' on {host}"))

        return self._run("server", step, "exec", **options)


class Steps:
    """The deploy verbs, mixed into `App`."""

    def setup(self: "App", *, skip_push: bool = False, no_cache: bool = False, **options: Any) -> Report:
        return run_step(self, "setup", lambda c: deploy_steps.setup(c, skip_push=skip_push, no_cache=no_cache),
                        **options)

    def deploy(self: "App", *, version: str | None = None, skip_push: bool = False, no_cache: bool = False,
               **options: Any) -> Report:
        """Build, push, and boot the new version everywhere without dropping a request."""
        app = self._at_version(version)
        return run_step(app, "deploy", lambda c: deploy_steps.deploy(c, skip_push=skip_push, no_cache=no_cache),
                        **options)

    def redeploy(self: "App", *, version: str | None = None, skip_push: bool = False, no_cache: bool = False,
                 **options: Any) -> Report:
        app = self._at_version(version)
        return run_step(app, "redeploy",
                        lambda c: deploy_steps.redeploy(c, skip_push=skip_push, no_cache=no_cache), **options)

    def rollback(self: "App", version: str, **options: Any) -> Report:
        return run_step(self, "rollback", lambda c: deploy_steps.rollback(c, version), **options)

    def build(self: "App", *, no_cache: bool = False, **options: Any) -> Report:
        """Build the image locally and push it to the registry."""
        return run_step(self, "build", lambda c: deploy_steps.build(c, no_cache=no_cache), subcommand="push",
                        **options)

    def pull(self: "App", **options: Any) -> Report:
        return run_step(self, "build", deploy_steps.pull, subcommand="pull", **options)

    # ---- fleet state: read-only tables, on connections kept open across calls ------------

    def hosts(self: "App", *, executor: Executor | None = None) -> "pandas.DataFrame":
        """Each host: roles, reachable, Docker version, containers running, disk free."""
        return state.hosts(self, executor or self.connection())

    def containers(self: "App", *, executor: Executor | None = None) -> "pandas.DataFrame":
        """Every container of this service: host, role, version, state, health, created, image."""
        return state.containers(self, executor or self.connection())

    def versions(self: "App", *, executor: Executor | None = None) -> "pandas.DataFrame":
        """Which version serves where; `mixed` marks hosts that differ from the rest."""
        return state.versions(self, executor or self.connection())

    def images(self: "App", *, executor: Executor | None = None) -> "pandas.DataFrame":
        return state.images(self, executor or self.connection())

    def drift(self: "App", *, executor: Executor | None = None) -> "pandas.DataFrame":
        """What runs that the configuration does not know, and what it expects but is missing."""
        return state.drift(self, executor or self.connection())

    def audit(self: "App", lines: int = 50, *, executor: Executor | None = None) -> "pandas.DataFrame":
        """The audit log lines of every host, merged in time order."""
        return state.audit(self, executor or self.connection(), lines)

    def connection(self: "App") -> Executor:
        """The SSH executor the fleet-state tables share (opened once, reused)."""
        executor = getattr(self, "_connection", None)
        if executor is None:
            from kamalnb.executors.ssh import SshExecutor

            executor = self._connection = SshExecutor.from_config(self.config)
        return executor

    def close(self: "App") -> None:
        """Close the connections the fleet-state tables opened."""
        executor = getattr(self, "_connection", None)
        if executor is not None:
            executor.close()
            self._connection = None

    @property
    def lock(self: "App") -> LockVerbs:
        return LockVerbs(self)

    @property
    def proxy(self: "App") -> ProxyVerbs:
        return ProxyVerbs(self)

    @property
    def app(self: "App") -> AppVerbs:
        return AppVerbs(self)

    @property
    def server(self: "App") -> ServerVerbs:
        return ServerVerbs(self)

    def _at_version(self: "App", version: str | None) -> "App":
        if not version:
            return self
        return type(self)(deploy_steps.config_at(self.config, version), self.options)
