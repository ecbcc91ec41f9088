"""`kamal registry setup|remove|login|logout`: log in (or out) on this machine and on every
host; with a local registry (`registry.server: localhost:PORT`), start or remove its
container on this machine instead (reference section 1.9)."""

from __future__ import annotations

from kamalnb.commands import Registry
from kamalnb.errors import ConfigError
from kamalnb.events import Phase
from kamalnb.results import Report, StepRecorder
from kamalnb.steps.context import LOCAL, StepContext


def setup(context: StepContext, *, skip_local: bool = False, skip_remote: bool = False) -> Report:
    config = context.config
    registry = Registry(config)
    hosts = list(config.specifics.hosts)
    recorder = StepRecorder("registry setup", context.events, [LOCAL, *hosts], planned=context.plan)
    login = registry.login()
    if not skip_local:
        with recorder.host(LOCAL, Phase.PULL) as outcome:
            outcome.record(context.local.run(LOCAL, registry.setup() if login is None else login))
    if login is not None and not skip_remote:
        def on(host: str) -> None:
            with recorder.host(host, Phase.PULL) as outcome:
                outcome.record(context.executor.run(host, login))

        recorder.absorb(context.parallel(hosts, on))
    return recorder.finish().raise_on_failure()


def remove(context: StepContext, *, skip_local: bool = False, skip_remote: bool = False) -> Report:
    config = context.config
    registry = Registry(config)
    hosts = list(config.specifics.hosts)
    recorder = StepRecorder("registry remove", context.events, [LOCAL, *hosts], planned=context.plan)
    local = config.registry.local
    if not skip_local:
        with recorder.host(LOCAL, Phase.STOP) as outcome:
            outcome.record(context.local.run(LOCAL, registry.remove() if local else registry.logout(), check=not local))
    if not local and not skip_remote:
        def on(host: str) -> None:
            with recorder.host(host, Phase.STOP) as outcome:
                outcome.record(context.executor.run(host, registry.logout()))

        recorder.absorb(context.parallel(hosts, on))
    return recorder.finish().raise_on_failure()


def login(context: StepContext, **skips: bool) -> Report:
    if context.config.registry.local:
        raise ConfigError("Cannot use login command with a local registry. Use `kamalnb registry setup` instead.")
    return setup(context, **skips)


def logout(context: StepContext, **skips: bool) -> Report:
    if context.config.registry.local:
        raise ConfigError("Cannot use logout command with a local registry. Use `kamalnb registry remove` instead.")
    return remove(context, **skips)
