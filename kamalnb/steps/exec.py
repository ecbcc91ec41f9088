"""`app exec` and `server exec`: one command on every selected host, outputs by host."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from kamalnb.commands import App as AppCommands
from kamalnb.commands.base import Command
from kamalnb.events import Phase
from kamalnb.results import Outputs, StepRecorder
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

    context.parallel(hosts, on)
    report = recorder.finish()
    errors = {o.host: o.error_message for o in report.failed}
    return Outputs(title, {h: outputs[h] for h in hosts if h in outputs}, errors)


def app_exec(context: StepContext, command: str, *, reuse: bool = False,
             env: Mapping[str, str] | None = None) -> Outputs:
    """In a new container of the configured version, or with `reuse` in the running one."""
    config = context.config

    def build(host: str) -> tuple[Command, str]:
        role = config.specifics.roles_on(host)[0]
        app = AppCommands(config, role, host)
        audit_line = f"Executed cmd '{command}' on app version {config.version}"
        if reuse:
            return app.execute_in_existing_container(command, env=dict(env or {})), audit_line
        return app.execute_in_new_container(command, env=dict(env or {}), suffix=secrets.token_hex(3)), audit_line

    return exec_on_hosts(context, f"app exec: {command}", config.specifics.app_hosts, build)


def server_exec(context: StepContext, command: str) -> Outputs:
    """A shell command, as given, on every selected host."""
    return exec_on_hosts(context, f"server exec: {command}", list(context.config.specifics.hosts),
                         lambda host: (Command((command,)), f"Executed cmd '{command}' on {host}"))
