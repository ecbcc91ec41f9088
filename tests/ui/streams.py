"""Recorded event streams, as a deploy emits them, for feeding the views."""

from __future__ import annotations

from kamalnb.errors import HealthCheckFailed
from kamalnb.events import (
    CommandRan,
    CommandStarted,
    Event,
    HostFinished,
    HostStarted,
    OutputLine,
    StepFinished,
    StepStarted,
)
from kamalnb.results import HostOutcome, Report
from kamalnb.ui.progress import BOOT_PHASES


def boot(host: str, role: str, phases: tuple[str, ...] = BOOT_PHASES) -> list[Event]:
    events: list[Event] = []
    for phase in phases:
        events.append(HostStarted(host, phase, role))
        if phase == "pull":
            events += [
                CommandStarted(host, "docker pull app:v2"),
                OutputLine(host, "stdout", "v2: Pulling from app"),
                OutputLine(host, "stdout", "Status: Downloaded newer image for app:v2"),
                CommandRan(host, "docker pull app:v2", 0, 1.5),
            ]
        events.append(HostFinished(host, phase, role, duration=0.5))
    return events


def deploy_with_a_failure() -> tuple[list[Event], Report]:
    """web-1 and web-2 boot; web-2's health check fails; workers-1 boots fine."""
    hosts = ("web-1", "web-2", "workers-1")
    events: list[Event] = [StepStarted("deploy", hosts)]
    for host in hosts:
        events += [HostStarted(host, "connect"), HostFinished(host, "connect", duration=0.2)]
    events += boot("web-1", "web")
    events += boot("web-2", "web", ("pull", "start"))
    events += [
        HostStarted("web-2", "health", "web"),
        OutputLine("web-2", "stderr", "curl: (7) Failed to connect"),
        HostFinished("web-2", "health", "web", ok=False, duration=30.0,
                     error="container app-web-v2 did not become healthy within 30 s"),
    ]
    events += boot("workers-1", "workers", ("pull", "start", "stop"))
    report = Report("deploy", [
        HostOutcome("web-1", "web", version_after="v2"),
        HostOutcome("web-2", "web").fail(HealthCheckFailed("web-2", "container app-web-v2 did not become healthy within 30 s")),
        HostOutcome("workers-1", "workers", version_after="v2"),
    ], duration=40.0)
    events.append(StepFinished("deploy", False, 40.0, report))
    return events, report


def successful_deploy() -> tuple[list[Event], Report]:
    hosts = ("web-1", "web-2")
    events: list[Event] = [StepStarted("deploy", hosts)]
    for host in hosts:
        events += [HostStarted(host, "connect"), HostFinished(host, "connect")]
        events += boot(host, "web")
    report = Report("deploy", [HostOutcome(host, "web", version_after="v2") for host in hosts], duration=12.0)
    events.append(StepFinished("deploy", True, 12.0, report))
    return events, report
