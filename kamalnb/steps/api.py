"""Every step as a call on the `App`: `app.deploy()`, `app.lock.status()`, `app.proxy.boot()`.

Each call shows live progress (a board in a kernel, lines in a terminal, see kamalnb.ui)
and returns a report. The command line calls exactly these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from kamalnb import state
from kamalnb.events import Events
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
    exact commands per host and phase.
    """
    from kamalnb.ui.detect import listener_for

    listener = listener_for(ui, verbose=app.options.verbose, quiet=app.options.quiet)
    events = events or Events()
    events.subscribe(listener)
    phases = events.subscribe(PhaseLog())
    try:
        if plan:
            planner = plan_executor(command)
            planner.events = events
            tracker = PhaseTracker(planner)
            events.subscribe(tracker)
            with StepContext(app, command=command, subcommand=subcommand, executor=planner, local=planner,
                             events=events, plan=True) as context:
                return Plan(" ".join(filter(None, (command, subcommand))), planner, tracker, step(context))
        with StepContext(app, command=command, subcommand=subcommand, executor=executor, events=events) as context:
            result = step(context)
        if isinstance(result, Report):
            result.phases = phases.spans
        return result
    except StepFailed as failure:
        if isinstance(failure.report, Report):
            failure.report.phases = phases.spans
        raise
    finally:
        events.unsubscribe(phases)
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

    def _each(self, subcommand: str, action: Callable[[deploy_steps.CaddyDriver, str], Any],
              **options: Any) -> Report:
        def step(context: StepContext) -> Report:
            hosts = deploy_steps.proxied_hosts(context.config)
            recorder = StepRecorder(f"proxy {subcommand}", context.events, hosts, planned=context.plan)
            driver = deploy_steps.driver(context)

            def on(host: str) -> None:
                with recorder.host(host, "proxy"):
                    action(driver, host)

            context.parallel(hosts, on)
            return recorder.finish().raise_on_failure()

        return self._run("proxy", step, subcommand, **options)

    def boot(self, **options: Any) -> Report:
        return self._run("proxy", deploy_steps.proxy_boot, "boot", **options)

    def reboot(self, **options: Any) -> Report:
        return self._each("reboot", lambda driver, host: driver.reboot(host), **options)

    def remove(self, **options: Any) -> Report:
        return self._each("remove", lambda driver, host: driver.remove(host), **options)

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

    def _at_version(self: "App", version: str | None) -> "App":
        if not version:
            return self
        return type(self)(deploy_steps.config_at(self.config, version), self.options)
