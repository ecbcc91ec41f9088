"""Plan mode: a step goes through its usual motions against a PlanExecutor, which runs
nothing and connects nowhere; the result lists every command per host and phase.

The reads a step decides on (`kamalnb.facts`) are answered by fact, as a fleet where the
app does not run yet would answer them (no current version, no lock, no proxy), so a plan
shows a first deploy.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamalnb.commands import Docker
from kamalnb.events import Event, Events, HostPhases
from kamalnb.executors import PlanExecutor
from kamalnb.facts import buildx_installed
from kamalnb.proxy.caddy_config import SHUTDOWN_DELAY
from kamalnb.steps.context import LOCAL

if TYPE_CHECKING:
    import pandas

PLAN_CONTAINER_ADDRESS = "172.18.0.2"
PLAN_CONTAINER_ID = "0123456789ab"


# Steps that build: their plan shows the builder this machine has.
_BUILDING = frozenset({"build", "deploy", "redeploy", "setup"})


def plan_executor(command: str, *, events: Events | None = None, root: str | None = None) -> PlanExecutor:
    """An executor that answers every read as a fleet where the app does not run yet would,
    and the local machine as it is."""
    facts: dict[str, Any] = {
        "running_version": None,
        "running_versions": [],
        "container_id": None,
        "container_address": PLAN_CONTAINER_ADDRESS,
        "container_status": "running",
        "proxy_route": None,
        "proxy_in_flight": {},
        "proxy_routes": [],
        # A proxy this kamalnb booted has its shutdown delay: a plan sets none.
        "proxy_http_app": {"shutdown_delay": SHUTDOWN_DELAY},
        "accessory_exists": False,
        "accessory_containers": [],
        "proxy_slots": {},
        "container_ref": PLAN_CONTAINER_ID,
    }
    if command == "rollback":
        # Rolling back needs the old containers, which the boot then renames out of the way.
        facts["container_id"] = PLAN_CONTAINER_ID
    if command in _BUILDING:
        # The one read a plan makes for real: harmless, local, and it decides whether the
        # build runs `docker buildx build` or the classic `docker build`.
        from kamalnb.executors.local import LocalExecutor

        facts["buildx_installed"] = LocalExecutor(cwd=root).read(LOCAL, buildx_installed(Docker()))
    return PlanExecutor(facts=facts, events=events)


@dataclass(frozen=True)
class PlannedCommand:
    host: str
    phase: str
    kind: str
    command: str


class PhaseTracker:
    """Remembers which phase each host was in when each planned command was recorded."""

    def __init__(self, executor: PlanExecutor) -> None:
        self.executor = executor
        self._marks: dict[str, list[tuple[int, str]]] = {}
        self._phases = HostPhases()
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            host = self._phases.follow(event)
            if host is not None:
                self._marks.setdefault(host, []).append((len(self.executor.planned), self._phases.current(host)))

    def phase_at(self, host: str, index: int) -> str:
        phase = ""
        for mark, name in self._marks.get(host, []):
            if mark > index:
                break
            phase = name
        return phase


class Plan:
    """What a step would run, per host and phase: `str()`, HTML in a notebook, `.to_frame()`."""

    def __init__(self, step: str, executor: PlanExecutor, tracker: PhaseTracker, report: Any = None,
                 host_order: list[str] | None = None) -> None:
        self.step = step
        self.report = report
        self.items = [PlannedCommand(item.host, tracker.phase_at(item.host, index), item.kind, item.text)
                      for index, item in enumerate(executor.planned)]
        self._order = [LOCAL, *(host_order or [])]

    @property
    def hosts(self) -> list[str]:
        """Hosts in the configuration's order (hosts work in parallel, so not in time order)."""
        seen = list(dict.fromkeys(item.host for item in self.items))
        rank = {host: index for index, host in enumerate(self._order)}
        return sorted(seen, key=lambda host: rank.get(host, len(rank)))

    def commands(self, host: str | None = None, *, kind: str | None = None) -> list[str]:
        return [item.command for item in self.items
                if (host is None or item.host == host) and (kind is None or item.kind == kind)]

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        return frame([vars(item) for item in self.items], ["host", "phase", "kind", "command"])

    def __str__(self) -> str:
        lines = [f"Plan for {self.step} (nothing was run):"]
        by_host: dict[str, list[PlannedCommand]] = {}
        for item in self.items:
            by_host.setdefault(item.host, []).append(item)
        for host in self.hosts:
            lines.append(f"{host}:")
            phase = None
            for item in by_host[host]:
                if item.phase != phase:
                    phase = item.phase
                    lines.append(f"  [{phase or 'step'}]")
                lines.append(f"    {item.command}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(i.host)}</td><td>{html.escape(i.phase)}</td><td>{html.escape(i.kind)}</td>"
            f"<td><code>{html.escape(i.command)}</code></td></tr>" for i in self.items)
        return (f"<p><b>Plan for {html.escape(self.step)}</b> (nothing was run)</p>"
                "<table><thead><tr><th>host</th><th>phase</th><th>kind</th><th>command</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")
