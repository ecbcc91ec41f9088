"""How a verb runs from Python: `run_step` gives a step its context, shows its progress and
returns its report; the verb namespaces (`app.lock`, `app.proxy`, `app.app`, `app.server`,
`app.accessory(name)`, `app.accessories`, `app.build`) are thin calls of the steps. The command line
calls exactly these."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from kamalnb.errors import ConfigError, StepFailed
from kamalnb.events import Events, StepFinished, StepStarted
from kamalnb.executors.base import Executor
from kamalnb.results import Outputs, PhaseLog, Report
from kamalnb.steps import accessory as accessory_steps
from kamalnb.steps import app_ops as app_steps
from kamalnb.steps import exec as exec_steps
from kamalnb.steps import lock as lock_steps
from kamalnb.steps import proxy as proxy_steps
from kamalnb.steps import tls as tls_steps
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
    context: StepContext | None = None
    try:
        if plan:
            result = _plan(app, name, command, subcommand, step, events)
            ok, report = True, result.report
            return result
        context = StepContext(app.config, app.options, command=command, subcommand=subcommand, executor=executor,
                              connections=app.ssh, events=events)
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
        elapsed = time.monotonic() - started
        if isinstance(report, Report):
            # The report is the inner step's (boot's, for a deploy); the step the user ran
            # took the whole time, and the board and the report say one duration.
            report.duration = elapsed
        events.emit(StepFinished(name, ok, elapsed, report if isinstance(report, Report) else None))
        events.unsubscribe(phases)
        if listener is not None:
            events.unsubscribe(listener)
            listener.close()
        if context is not None:
            # After the step is reported done: what it left running (a deploy's prune)
            # ends before the connections close.
            context.close()


def _plan(app: App, name: str, command: str, subcommand: str | None, step: Callable[[StepContext], Any],
          events: Events) -> Plan:
    from kamalnb.steps.plan import PhaseTracker, Plan, plan_executor

    planner = plan_executor(command, events=events, root=str(app.config.root))
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

    def reboot(self, *, rolling: bool = False, confirm: bool = False, **options: Any) -> Report:
        """Replace the proxy container on every proxy host; its routes and certificates stay.
        Each host refuses new connections for a moment, its requests in flight finishing (up
        to `drain_timeout`): needs `confirm=True` (or `plan=True`); `rolling=True` reboots
        one host at a time, as Kamal's `--rolling`."""
        if not confirm and not options.get("plan"):
            raise ConfigError("proxy reboot stops the proxy on each host, a brief outage there: call "
                              "reboot(confirm=True), with rolling=True to reboot one host at a time")
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "reboot", lambda driver, host: driver.reboot(host, context.config.drain_timeout),
            "Rebooted proxy", hook="proxy-reboot", rolling=rolling), "reboot", **options)

    def remove(self, **options: Any) -> Report:
        return self._run("proxy", lambda context: proxy_steps.on_each(
            context, "remove", lambda driver, host: driver.remove(host), "Removed proxy container"),
            "remove", **options)

    def details(self, **options: Any) -> dict[str, str]:
        """`docker ps` of the proxy container, per host."""
        return self._run("proxy", lambda context: proxy_steps.texts(
            context, lambda driver, host: driver.details(host)), "details", **options)

    def logs(self, lines: int | None = None, *, since: str | None = None, grep: str | None = None,
             follow: bool = False, **options: Any) -> dict[str, str] | None:
        """The proxy's last log lines, per host (`since` as `docker logs --since`, only lines
        containing `grep`; 100 lines unless `lines`). With `follow`, the last lines (10 unless
        `lines`) of one host (the primary, if it runs the proxy), then new ones as they come,
        are printed until interrupted (Ctrl-C, or the kernel's stop button); returns None."""
        if follow:
            options.setdefault("ui", "silent")
            return self._run("proxy", lambda context: proxy_steps.follow_logs(
                context, lambda line: print(line, flush=True), lines=lines, since=since, grep=grep), "logs", **options)
        return self._run("proxy", lambda context: proxy_steps.texts(
            context, lambda driver, host: driver.logs(host, lines or 100, since=since, grep=grep)), "logs", **options)

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

    def requests(self, path: str | None = None, *, executor: Executor | None = None) -> pandas.DataFrame:
        """A GET of `path` (default: the health check path) through the proxy on each host of
        each proxied role, as a visitor's request arrives. Columns: host, role, url, status,
        body, error."""
        from kamalnb import state

        return state.requests(self._app, executor or self._app.connection(), path)

    def certs(self, *, renew: bool = False, executor: Executor | None = None, **options: Any) -> pandas.DataFrame:
        """Each host's HTTPS certificates: name, source, issuer, expiry, fingerprint. With
        `renew`, first what a deploy does for them: a certificate the first host of a role
        renewed is copied to the others, a changed custom certificate uploaded."""
        from kamalnb import state

        if renew:
            self._run("proxy", tls_steps.renew, "certs", **options)
        return state.certificates(self._app, executor or self._app.connection())


class AppVerbs(_Verbs):
    """`app.app.<verb>()`: Kamal's `kamal app <verb>`. Listings (`details`, `containers`,
    `images`, `version`, `stale_containers`, `logs`) return DataFrames whose columns
    docs/commands.md names; `listing(verb)` gives the same as Kamal's text per host. `maintenance(message=None)` and
    `live()` switch the proxy's answer for the app without stopping it."""

    def boot(self, **options: Any) -> Report:
        """Boot the app on every app host: `--version`, else the image tagged `latest`, as in Kamal."""
        config = self._app.config
        app = self._app if config.declared_version else self._app._at_version(config.latest_tag)
        from kamalnb.steps import deploy as deploy_steps

        def step(context: StepContext) -> Report:
            with lock_steps.held(context):
                return deploy_steps.app_boot(context, "app boot").raise_on_failure()

        return run_step(app, "app", step, subcommand="boot", **options)

    def start(self, **options: Any) -> Report:
        return self._run("app", app_steps.start, "start", **options)

    def stop(self, **options: Any) -> Report:
        return self._run("app", app_steps.stop, "stop", **options)

    def remove(self, **options: Any) -> Report:
        """Stop and remove the app's containers, and on hosts it leaves, its images and directories."""
        return self._run("app", app_steps.remove, "remove", **options)

    def details(self, **options: Any) -> Any:
        """Columns: host, role, container_id, image, command, created, status, ports, names, error."""
        return _frame(self.listing("details", **options))

    def containers(self, **options: Any) -> Any:
        """Every container of the service (any state); columns as `details`."""
        return _frame(self.listing("containers", **options))

    def images(self, **options: Any) -> Any:
        """Columns: host, role, repository, tag, image_id, created, size, error."""
        return _frame(self.listing("images", **options))

    def version(self, **options: Any) -> Any:
        """The running version on each app host. Columns: host, role, version, error."""
        return _frame(self.listing("version", **options))

    def stale_containers(self, *, stop: bool = False, **options: Any) -> Any:
        """Running containers that are not their role's current version (stopped with `stop`).
        Columns: host, role, version, stopped, error."""
        return _frame(self.listing("stale_containers", stop=stop, **options))

    def logs(self, *, lines: int | None = None, since: str | None = None, grep: str | None = None,
             grep_options: str | None = None, container_id: str | None = None, skip_timestamps: bool = False,
             follow: bool = False, **options: Any) -> Any:
        """The current container's log lines on every host and role. Columns: host, role,
        time, line, error. With `follow`, new lines of the primary host are printed as they
        come until interrupted (Ctrl-C, or the kernel's stop button); returns None."""
        if follow:
            def follow_step(context: StepContext) -> None:
                app_steps.follow_logs(context, lambda line: print(line, flush=True), lines=lines, grep=grep,
                                      grep_options=grep_options, container_id=container_id,
                                      timestamps=not skip_timestamps)

            options.setdefault("ui", "silent")
            return self._run("app", follow_step, "logs", **options)
        return _frame(self.listing("logs", lines=lines, since=since, grep=grep, grep_options=grep_options,
                                   container_id=container_id, timestamps=not skip_timestamps, **options))

    def listing(self, verb: str, **arguments: Any) -> Any:
        """Kamal's output of a listing verb, per host (a `Listing`; a `Plan` with plan=True)."""
        run_options = {key: arguments.pop(key) for key in ("ui", "executor", "events", "plan") if key in arguments}
        run_options.setdefault("ui", "silent")
        step = getattr(app_steps, verb)
        return self._run("app", lambda context: step(context, **arguments), verb, **run_options)

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
             detach: bool = False, interactive: bool = False, **options: Any) -> Outputs | str:
        """In a new container of the `latest` image (or `--version`), or with `reuse` in the
        container of the version that is running, on every selected app host.

        As in Kamal, `command` is put on the remote command line as it is: quote what the
        host's shell must not interpret. With `interactive` (a kernel has no terminal) the
        result is the `ssh -t …` line to run in a terminal."""
        if interactive:
            return self._run("app", lambda context: exec_steps.interactive_command(
                context, command, reuse=reuse, env=env).render(), "exec", **{"ui": "silent", **options})
        return self._run("app", lambda context: exec_steps.app_exec(context, command, reuse=reuse, env=env,
                                                                    detach=detach), "exec", **options)


def _frame(result: Any) -> Any:
    from kamalnb.listing import Listing

    return result.to_frame() if isinstance(result, Listing) else result


class ServerVerbs(_Verbs):
    """`app.server.exec(cmd)`: a shell command on every selected host; `.bootstrap()`."""

    def exec(self, command: str, **options: Any) -> Outputs:
        return self._run("server", lambda context: exec_steps.server_exec(context, command), "exec", **options)

    def bootstrap(self, **options: Any) -> Report:
        """Docker on every host: installed where missing (as root or with passwordless sudo),
        else an error naming the hosts; then the `docker-setup` hook."""
        from kamalnb.steps import server_ops

        return self._run("server", server_ops.bootstrap, "bootstrap", **options)


class RegistryVerbs(_Verbs):
    """`app.registry.setup()`, `.remove()`, `.login()`, `.logout()` (`skip_local=`, `skip_remote=`)."""

    def setup(self, *, skip_local: bool = False, skip_remote: bool = False, **options: Any) -> Report:
        return self._registry("setup", skip_local, skip_remote, options)

    def remove(self, *, skip_local: bool = False, skip_remote: bool = False, **options: Any) -> Report:
        return self._registry("remove", skip_local, skip_remote, options)

    def login(self, *, skip_local: bool = False, skip_remote: bool = False, **options: Any) -> Report:
        return self._registry("login", skip_local, skip_remote, options)

    def logout(self, *, skip_local: bool = False, skip_remote: bool = False, **options: Any) -> Report:
        return self._registry("logout", skip_local, skip_remote, options)

    def _registry(self, verb: str, skip_local: bool, skip_remote: bool, options: dict[str, Any]) -> Report:
        from kamalnb.steps import registry_ops

        step = getattr(registry_ops, verb)
        return self._run("registry", lambda context: step(context, skip_local=skip_local, skip_remote=skip_remote),
                         verb, **options)

class BuildVerbs(_Verbs):
    """`app.build.push()`, `.pull()`, `.deliver()`, `.create()`, `.remove()`, `.details()`,
    `.dev()`: Kamal's `kamal build <verb>`. `app.build()` is `app.build.push()`."""

    def __call__(self, *, no_cache: bool = False, output: str = "registry", **options: Any) -> Report:
        return self.push(no_cache=no_cache, output=output, **options)

    def push(self, *, no_cache: bool = False, output: str = "registry", **options: Any) -> Report:
        """Build the image (where `builder:` says) and push it, or with `output="docker"` keep
        it in the building engine."""
        from kamalnb.steps import build as build_steps

        return self._run("build", lambda c: build_steps.build(c, no_cache=no_cache, output=output), "push",
                         **options)

    def pull(self, **options: Any) -> Report:
        """Pull the version's image on every app host and check its `service` label."""
        from kamalnb.steps import deploy as deploy_steps

        return self._run("build", deploy_steps.pull, "pull", **options)

    def deliver(self, *, no_cache: bool = False, **options: Any) -> Report:
        """`push`, then `pull`: one report with the build's row and each host's pull."""
        from kamalnb.steps import build as build_steps
        from kamalnb.steps import deploy as deploy_steps

        def step(context: StepContext) -> Report:
            built = build_steps.build(context, no_cache=no_cache)
            pulled = deploy_steps.pull(context)
            pulled.outcomes[:0] = built.outcomes
            return pulled

        return self._run("build", step, "deliver", **options)

    def dev(self, *, no_cache: bool = False, output: str = "docker", **options: Any) -> Report:
        """Build the working tree, uncommitted changes included, tagged `<version>-dirty` and
        `latest-dirty`, into the building engine's images (or `output="registry"`)."""
        from kamalnb.steps import build as build_steps

        return self._run("build", lambda c: build_steps.dev(c, no_cache=no_cache, output=output), "dev", **options)

    def create(self, **options: Any) -> Report:
        """Create the buildx builder deploy.yml describes (needs the buildx plugin)."""
        from kamalnb.steps import build as build_steps

        return self._run("build", build_steps.create, "create", **options)

    def remove(self, **options: Any) -> Report:
        """Remove the buildx builder (needs the buildx plugin)."""
        from kamalnb.steps import build as build_steps

        return self._run("build", build_steps.remove, "remove", **options)

    def details(self, **options: Any) -> Outputs:
        """The builder and where it builds."""
        from kamalnb.steps import build as build_steps

        options.setdefault("ui", "silent")
        return self._run("build", build_steps.details, "details", **options)


class AccessoryVerbs(_Verbs):
    """`app.accessory("redis").boot()`: Kamal's accessory verbs for one accessory;
    `app.accessories` has the same verbs for all of them."""

    def __init__(self, app: App, name: str) -> None:
        super().__init__(app)
        accessory_steps.select(app.config, name)  # an unknown name fails here, listing the known ones
        self.name = name

    @property
    def config(self) -> Any:
        return self._app.config

    def _accessory(self, subcommand: str, step: Callable[[StepContext], T], **options: Any) -> T:
        return self._run("accessory", step, subcommand, **options)

    def boot(self, **options: Any) -> Report:
        """Start it where no container of it exists yet (existing ones are kept, as in Kamal)."""
        return self._accessory("boot", lambda c: accessory_steps.boot(c, self.name), **options)

    def reboot(self, **options: Any) -> Report:
        """Pull its image, then stop, remove and boot the container again; its data stays."""
        return self._accessory("reboot", lambda c: accessory_steps.reboot(c, self.name), **options)

    def start(self, **options: Any) -> Report:
        return self._accessory("start", lambda c: accessory_steps.start(c, self.name), **options)

    def stop(self, **options: Any) -> Report:
        return self._accessory("stop", lambda c: accessory_steps.stop(c, self.name), **options)

    def restart(self, **options: Any) -> Report:
        return self._accessory("restart", lambda c: accessory_steps.restart(c, self.name), **options)

    def remove(self, *, confirm: bool = False, volumes: bool = False, **options: Any) -> Report:
        """Remove its containers, image, service directory (files, relative directories) and
        env file; its named volumes too with `volumes=True`. Needs `confirm=True`."""
        if not confirm:
            raise ConfigError(f"This removes the containers, image and data directories of {self.name}: "
                              "call remove(confirm=True) to go ahead")
        return self._accessory("remove", lambda c: accessory_steps.remove(c, self.name, volumes=volumes), **options)

    def upgrade(self, *, confirm: bool = False, rolling: bool = False, **options: Any) -> Report:
        """Kamal 1 to 2: reboot into the `kamal` network (host by host with `rolling`). Needs `confirm=True`."""
        if not confirm:
            raise ConfigError(f"This restarts {self.name} on its hosts: call upgrade(confirm=True) to go ahead")
        return self._accessory("upgrade", lambda c: accessory_steps.upgrade(c, self.name, rolling=rolling),
                               **options)

    def details(self, **options: Any) -> pandas.DataFrame:
        """accessory, host, container, image, state, ports, uptime."""
        return self.details_table(**options).to_frame()

    def details_table(self, **options: Any) -> accessory_steps.AccessoryDetails:
        return self._accessory("details", lambda c: accessory_steps.details(c, self.name), **options)

    def exec(self, command: str, *, reuse: bool = False, **options: Any) -> Outputs:
        """In a new container of its image (`docker run --rm`), or with `reuse` in the running one."""
        return self._accessory("exec", lambda c: accessory_steps.exec_(c, self.name, command, reuse=reuse),
                               **options)

    def login_for_interactive_exec(self, **options: Any) -> str:
        """The registry login an interactive `exec` in a new container needs on the first host."""
        return self._accessory("exec", lambda c: accessory_steps.login_first_host(c, self.name),
                               ui=options.pop("ui", "silent"), **options)

    def logs(self, *, lines: int | None = None, since: str | None = None, grep: str | None = None,
             grep_options: str | None = None, timestamps: bool = True, **options: Any) -> Outputs:
        """Its log lines on each host (the last 100 unless `lines`, `since` or `grep` say)."""
        return self._accessory("logs", lambda c: accessory_steps.logs(
            c, self.name, lines=lines, since=since, grep=grep, grep_options=grep_options, timestamps=timestamps),
            **options)


class AccessoriesVerbs(AccessoryVerbs):
    """`app.accessories()`: the details table of every accessory; `app.accessories.boot()`
    and the other verbs work on all of them."""

    def __init__(self, app: App) -> None:
        _Verbs.__init__(self, app)
        self.name = accessory_steps.ALL

    def __call__(self, **options: Any) -> pandas.DataFrame:
        return self.details(ui=options.pop("ui", "silent"), **options)

    @property
    def __name__(self) -> str:
        """What a runbook calls the table when it skips it (`accessories()`)."""
        return "accessories"
