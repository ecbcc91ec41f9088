"""How a verb runs from Python: `run_step` gives a step its context, shows its progress and
returns its report; the verb namespaces (`app.lock`, `app.proxy`, `app.app`, `app.server`)
are thin calls of the steps. The command line calls exactly these."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from kamalnb.errors import StepFailed
from kamalnb.events import Events, StepFinished, StepStarted
from kamalnb.executors.base import Executor
from kamalnb.results import Outputs, PhaseLog, Report
from kamalnb.steps import exec as exec_steps
from kamalnb.steps import lock as lock_steps
from kamalnb.steps import proxy as proxy_steps
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    import pandas

    from kamalnb.app import App
    from kamalnb.steps.plan import Plan

T = TypeVar("T")


def run_step(app: App, command: str, step: Callable[[StepContext], T], *, subcommand: str | None = None,
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
            result = _plan(app, name, command, subcommand, step, events)
            ok, report = True, result.report
            return result
        with StepContext(app.config, app.options, command=command, subcommand=subcommand, executor=executor,
                         events=events) as context:
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


def _plan(app: App, name: str, command: str, subcommand: str | None, step: Callable[[StepContext], Any],
          events: Events) -> Plan:
    from kamalnb.steps.plan import PhaseTracker, Plan, plan_executor

    planner = plan_executor(command, events=events)
    tracker = PhaseTracker(planner)
    events.subscribe(tracker)
    with StepContext(app.config, app.options, command=command, subcommand=subcommand, executor=planner,
                     local=planner, events=events, plan=True) as context:
        report = step(context)
    return Plan(name, planner, tracker, report, host_order=list(app.config.all_hosts))


class _Verbs:
    def __init__(self, app: App) -> None:
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
    """`app.proxy.boot()`, `.reboot()`, `.remove()`, `.start()`, `.stop()`, `.restart()`,
    `.details()`, `.logs()`, `.routes()`."""

    def boot(self, **options: Any) -> Report:
        return self._run("proxy", proxy_steps.boot, "boot", **options)

    def reboot(self, **options: Any) -> Report:
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "reboot", lambda driver, host: driver.reboot(host), "Rebooted proxy", hook="proxy-reboot"),
            "reboot", **options)

    def remove(self, **options: Any) -> Report:
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "remove", lambda driver, host: driver.remove(host), "Removed proxy container"),
            "remove", **options)

    def details(self, **options: Any) -> dict[str, str]:
        """`docker ps` of the proxy container, per host."""
        return self._run("proxy", lambda context: proxy_steps.texts(
            context, lambda driver, host: driver.details(host)), "details", **options)

    def logs(self, lines: int = 100, *, since: str | None = None, grep: str | None = None,
             **options: Any) -> dict[str, str]:
        """The proxy's last log lines, per host (`since` as `docker logs --since`, only lines
        containing `grep`)."""
        return self._run("proxy", lambda context: proxy_steps.texts(
            context, lambda driver, host: driver.logs(host, lines, since=since, grep=grep)), "logs", **options)

    def boot_config_set(self, *, publish: bool = True, http_port: int = 80, https_port: int = 443,
                        log_max_size: str | None = None, docker_options: list[str] | None = None,
                        **options: Any) -> Report:
        """How the proxy container is run from its next boot or reboot (Kamal's `proxy boot_config set`)."""
        settings: dict[str, Any] = {"publish": publish, "http_port": http_port, "https_port": https_port}
        if log_max_size:
            settings["log_max_size"] = log_max_size
        if docker_options:
            settings["docker_options"] = list(docker_options)
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "boot_config set", lambda driver, host: driver.boot_config_set(host, settings),
            "Set proxy boot options"), "boot_config", **options)

    def boot_config_get(self, **options: Any) -> dict[str, str]:
        """Each proxy host's boot options (`{}`: the defaults)."""
        import json

        return self._run("proxy", lambda context: proxy_steps.texts(
            context, lambda driver, host: json.dumps(driver.boot_config_get(host))), "boot_config", **options)

    def boot_config_reset(self, **options: Any) -> Report:
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "boot_config reset", lambda driver, host: driver.boot_config_reset(host),
            "Reset proxy boot options"), "boot_config", **options)

    def start(self, **options: Any) -> Report:
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "start", lambda driver, host: driver.start(host), "Started proxy"), "start", **options)

    def stop(self, **options: Any) -> Report:
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "stop", lambda driver, host: driver.stop(host), "Stopped proxy"), "stop", **options)

    def restart(self, **options: Any) -> Report:
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "restart", lambda driver, host: driver.restart(host), "Restarted proxy"), "restart", **options)

    def routes(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Each host's proxy routes, their upstreams and requests in flight."""
        from kamalnb import state

        return state.routes(self._app, executor or self._app.connection())


class AppVerbs(_Verbs):
    """`app.app.exec(cmd)`: a command in the app's image on every selected host;
    `app.app.maintenance(message=None)` and `app.app.live()`."""

    def maintenance(self, message: str | None = None, **options: Any) -> Report:
        """The proxy answers 503 with the app's `error_pages_path` 503.html (or a plain page
        with `message`) for every selected role; the containers keep running, requests in
        flight finish."""
        return self._run("app", lambda context: proxy_steps.maintenance(context, on=True, message=message),
                         "maintenance", **options)

    def live(self, **options: Any) -> Report:
        """Serve the app again after `maintenance()`."""
        return self._run("app", lambda context: proxy_steps.maintenance(context, on=False), "live", **options)

    def exec(self, command: str, *, reuse: bool = False, env: Mapping[str, str] | None = None,
             **options: Any) -> Outputs:
        """In a new container of the configured version, or with `reuse` in the running one.

        As in Kamal, `command` is put on the remote command line as it is: quote what the
        host's shell must not interpret."""
        return self._run("app", lambda context: exec_steps.app_exec(context, command, reuse=reuse, env=env),
                         "exec", **options)


class ServerVerbs(_Verbs):
    """`app.server.exec(cmd)`: a shell command on every selected host."""

    def exec(self, command: str, **options: Any) -> Outputs:
        return self._run("server", lambda context: exec_steps.server_exec(context, command), "exec", **options)
