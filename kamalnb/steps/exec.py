"""`app exec` and `server exec`: one command on every selected host, outputs by host."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.commands import Registry
from kamalnb.commands.base import Command
from kamalnb.errors import HostError
from kamalnb.events import Phase
from kamalnb.results import Outputs, StepRecorder
from kamalnb.steps.app_ops import primary_host
from kamalnb.steps.context import StepContext


def exec_on_hosts(context: StepContext, title: str, hosts: list[str],
                  build: Callable[[str], tuple[Command, str]]) -> Outputs:
    """Run a command per host (with its audit line first); outputs and errors by host."""
    recorder = StepRecorder(title, context.events, hosts, planned=context.plan)
    outputs: dict[str, str] = {}

    def on(host: str) -> None:
        command, audit_line = build(host)
        with recorder.host(host, Phase.EXEC) as outcome:
            context.audit(host, audit_line)
            outputs[host] = outcome.record(context.executor.run(host, command)).stdout

    recorder.absorb(context.parallel(hosts, on))
    report = recorder.finish()
    errors = {o.host: o.error_message for o in report.failed}
    return Outputs(title, {h: outputs[h] for h in hosts if h in outputs}, errors)


def exec_version(context: StepContext, *, reuse: bool) -> str:
    """The version `app exec` works with, as in Kamal: `--version` when given; with `reuse`
    the version running on the primary host; otherwise the image tagged `latest`."""
    config = context.config
    if config.declared_version:
        return config.version
    if not reuse:
        return config.latest_tag
    host = primary_host(config)
    role = config.specifics.primary_role or config.specifics.roles_on(host)[0]
    running = context.executor.read(host, facts.running_version(AppCommands(config, role, host)))
    if not running and context.plan:
        return config.version
    if not running:
        raise HostError(host, f"no container of {role.container_prefix} is running on {host}, "
                              "so there is none to --reuse: run without --reuse, or deploy first")
    return running


def app_exec(context: StepContext, command: str, *, reuse: bool = False,
             env: Mapping[str, str] | None = None, detach: bool = False) -> Outputs:
    """In a new container of the `latest` image (the role's env file written first when it
    is missing), or with `reuse` in the container of the version that is running."""
    # As Kamal's `using_version`: the audit lines and the commands carry the version used.
    config = context.config = context.config.with_version(exec_version(context, reuse=reuse))
    login = None if reuse else Registry(config).login()

    def build(host: str) -> tuple[Command, str]:
        role = config.specifics.roles_on(host)[0]
        app = AppCommands(config, role, host)
        audit_line = f"Executed cmd '{command}' on app version {config.version}"
        if reuse:
            return app.execute_in_existing_container(command, env=dict(env or {})), audit_line
        if login is not None:
            context.executor.run(host, login)
        _ensure_env_file(context, app, host)
        return app.execute_in_new_container(command, env=dict(env or {}), suffix=secrets.token_hex(3),
                                            detach=detach), audit_line

    return exec_on_hosts(context, f"app exec: {command}", config.specifics.app_hosts, build)


def _ensure_env_file(context: StepContext, app: AppCommands, host: str) -> None:
    """The role's env file, written when the host does not have it yet (`--env-file` needs it)."""
    env_file = app.env_file()
    present = context.executor.run(host, Command.from_argv(["test", "-f", env_file.path]), check=False)
    if context.plan or not present.ok:
        context.executor.run(host, app.ensure_env_directory())
        context.executor.upload(host, env_file.content, env_file.path, mode=env_file.mode)


def interactive_command(context: StepContext, command: str, *, reuse: bool = False,
                        env: Mapping[str, str] | None = None, tty: bool = True) -> Command:
    """Kamal's `ssh -t … 'docker exec -it …'` (or `docker run -it …`) for the primary host."""
    config = context.config = context.config.with_version(exec_version(context, reuse=reuse))
    host = primary_host(config)
    role = config.specifics.primary_role or config.specifics.roles_on(host)[0]
    app = AppCommands(config, role, host)
    if reuse:
        return app.execute_in_existing_container_over_ssh(command, env=dict(env or {}), tty=tty)
    _ensure_env_file(context, app, host)
    return app.execute_in_new_container_over_ssh(command, env=dict(env or {}), suffix=secrets.token_hex(3), tty=tty)


def server_exec(context: StepContext, command: str) -> Outputs:
    """A shell command, as given, on every selected host."""
    return exec_on_hosts(context, f"server exec: {command}", list(context.config.specifics.hosts),
                         lambda host: (Command((command,)), f"Executed cmd '{command}' on {host}"))
