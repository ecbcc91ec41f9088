"""`kamal server bootstrap`: Docker on every host, installed where it is missing and the
user may install it (root, or passwordless sudo); refused with the hosts named otherwise."""

from __future__ import annotations

from kamalnb import facts
from kamalnb.commands import Docker, Server
from kamalnb.commands.base import Command
from kamalnb.errors import HostError
from kamalnb.events import Phase
from kamalnb.facts import Read
from kamalnb.results import Report, StepRecorder
from kamalnb.steps import lock
from kamalnb.steps.context import StepContext

DOCKER_DOCS = "https://docs.docker.com/engine/install/"


def _ok(fact: str, command: Command) -> Read[bool]:
    return Read(fact, command, lambda result: result.ok)


def bootstrap(context: StepContext) -> Report:
    config = context.config
    docker = Docker()
    hosts = list(config.specifics.hosts)  # app and accessory hosts, as Kamal's
    recorder = StepRecorder("server bootstrap", context.events, hosts, planned=context.plan)
    missing: list[str] = []

    def on(host: str) -> None:
        with recorder.host(host, Phase.PULL) as outcome:
            run, read = context.executor.run, context.executor.read
            if not read(host, facts.docker_installed(docker)):
                if not read(host, _ok("superuser", docker.superuser())):
                    missing.append(host)
                    raise HostError(host, "Docker is missing and this user can neither install it (not root, "
                                          f"no passwordless sudo) nor fetch it: install Docker there ({DOCKER_DOCS})")
                outcome.record(run(host, docker.install()))
                if not read(host, _ok("root", docker.root())) and not read(
                        host, _ok("in_docker_group", docker.in_docker_group())):
                    outcome.record(run(host, docker.add_to_docker_group()))
                    # A new session picks the group up; the next command reconnects.
                    run(host, docker.refresh_session(), check=False)
            outcome.record(run(host, Server(config).ensure_run_directory()))

    with lock.held(context):
        recorder.absorb(context.parallel(hosts, on))
        report = recorder.finish()
        if missing:
            raise HostError(missing[0], f"Docker is not installed on {', '.join(sorted(missing))} and can't be "
                                        "automatically installed without having root access and either `wget` or "
                                        f"`curl`. Install Docker manually: {DOCKER_DOCS}")
        report.raise_on_failure()
        context.hook("docker-setup")
    return report
