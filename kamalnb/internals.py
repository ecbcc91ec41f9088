"""What Kamal does under the hood, made visible: the helpers of the `05-kamal-internals`
runbook.

- `shell(app, host, command)`: one shell command on one host, over the SSH connection the
  fleet-state tables share (`app.connection()`), and what it printed. No audit line, no
  board: it only looks. In plan mode it shows the command and runs nothing.
- `CommandLog`: an event listener that keeps every command a step really ran, with its
  host and phase: `app.deploy(events=Events(log))`, then `log.to_frame()`, the same
  columns as a plan's table plus the exit status and duration.
- `container_runs(plan)`: the name, labels and env file of every `docker run` of a plan;
  `by_phase(table)`: a plan's or a log's commands counted per phase; `host_paths(app)`:
  where Kamal keeps its files on the hosts.
- `CordDemo`: Kamal 1's cord file, on a real container of the app's image: a Docker health
  check that needs both the app's health path and the cord file, which is cut to turn the
  container unhealthy on purpose.
"""

from __future__ import annotations

import html
import re
import secrets
import shlex
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kamalnb.commands.base import Command
from kamalnb.events import CommandRan, Event, HostPhases
from kamalnb.frames import protect

if TYPE_CHECKING:
    import pandas

    from kamalnb.app import App
    from kamalnb.steps.plan import Plan

__all__ = ["CommandLog", "CordDemo", "HostOutput", "by_phase", "container_runs", "host_paths", "shell"]


@dataclass(frozen=True)
class HostOutput:
    """A command on a host and what it printed; `ran` is False in plan mode."""

    host: str
    command: str
    stdout: str = ""
    stderr: str = ""
    exit_status: int | None = None
    ran: bool = True

    @property
    def ok(self) -> bool:
        return self.ran and self.exit_status == 0

    @property
    def text(self) -> str:
        return self.stdout.strip()

    def lines(self) -> list[str]:
        return self.text.splitlines()

    def _printed(self) -> str:
        if not self.ran:
            return "Plan mode: this runs on a host, skipped."
        printed = self.stdout + (self.stderr if not self.ok else "")
        status = "" if self.ok else f"\n(exit status {self.exit_status})"
        return (printed.rstrip() or "(no output)") + status

    def __str__(self) -> str:
        return f"[{self.host}] $ {self.command}\n{self._printed()}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        # protect(): a `$` in a command or its output must never start LaTeX in JupyterLab.
        return (f"<pre><b>[{html.escape(self.host)}] <span>$</span> {protect(self.command)}</b>\n"
                f"{protect(self._printed())}</pre>")


def shell(app: App, host: str, command: str, *, plan: bool = False, timeout: float = 30) -> HostOutput:
    """`command` as a shell runs it on `host` (in the login user's home), and what it printed.
    A non-zero exit is shown, not raised. With `plan` nothing runs and nothing is contacted."""
    if plan:
        return HostOutput(host, command, ran=False)
    result = app.connection().run(host, Command((command,)), timeout=timeout, check=False)
    return HostOutput(host, command, result.stdout, result.stderr, result.exit_status)


class CommandLog:
    """Keeps every command a step ran, with the host and the phase it ran in (a listener:
    `app.deploy(events=Events(log))`). Secrets show as [REDACTED], as everywhere."""

    COLUMNS = ("host", "phase", "command", "exit_status", "seconds")

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._phases = HostPhases()

    def __call__(self, event: Event) -> None:
        if self._phases.follow(event) is None and isinstance(event, CommandRan):
            self.rows.append({"host": event.host, "phase": self._phases.current(event.host),
                              "command": event.command, "exit_status": event.exit_status,
                              "seconds": round(event.duration, 2)})

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        return frame(self.rows, self.COLUMNS)


def host_paths(app: App) -> pandas.DataFrame:
    """Where Kamal keeps its state on a host (relative to the login user's home) and on
    which hosts, indexed by a short name: `host_paths(app).loc["lock", "path"]`."""
    import pandas as pd

    from kamalnb.commands import Lock
    from kamalnb.commands.auditor import Auditor
    from kamalnb.frames import Frame
    from kamalnb.proxy.caddy_config import CONFIG_DIR

    config = app.config
    lock = Lock(config)
    primary = [config.primary_host or ""]
    rows = {f"env file ({role.name})": (role.secrets_path, role.hosts) for role in config.roles}
    rows.update({
        "lock": (lock.lock_dir, primary),
        "lock details": (lock.details_file, primary),
        "audit log": (Auditor(config, recorded_at=datetime.now(UTC), performer="").audit_log_file, config.all_hosts),
        "proxy config": (CONFIG_DIR, config.proxy_hosts),
    })
    return Frame({"path": [path for path, _ in rows.values()],
                  "hosts": [", ".join(filter(None, hosts)) for _, hosts in rows.values()]},
                 index=pd.Index(list(rows), name="what"))


def by_phase(table: pandas.DataFrame) -> pandas.DataFrame:
    """A plan's or a command log's commands counted per phase, in the order the phases
    first ran, with the hosts they ran on (in reading order: hosts work in parallel)."""
    from kamalnb.frames import frame

    rows: dict[str, dict[str, Any]] = {}
    for host, phase in zip(table["host"], table["phase"], strict=True):
        row = rows.setdefault(phase or "(between phases)", {"phase": phase or "(between phases)", "commands": 0,
                                                            "hosts": []})
        row["commands"] += 1
        if host not in row["hosts"]:
            row["hosts"].append(host)
    return frame([{**row, "hosts": ", ".join(sorted(row["hosts"], key=_natural))} for row in rows.values()],
                 ["phase", "commands", "hosts"])


def _natural(host: str) -> tuple[Any, ...]:
    """Hosts in reading order: `local` first, numbers compared as numbers (10.0.0.9 < 10.0.0.10)."""
    return (host != "local", *((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", host)))


def container_runs(plan: Plan | pandas.DataFrame) -> pandas.DataFrame:
    """Every `docker run` of the app in a plan (or a command log's frame): host, the
    container's name, its labels, the env file and the image, read from the command line."""
    from kamalnb.frames import frame
    from kamalnb.steps.plan import Plan

    table = plan.to_frame() if isinstance(plan, Plan) else plan
    rows = []
    for host, command in zip(table["host"], table["command"], strict=True):
        if not command.startswith("docker run "):
            continue
        options = _options(shlex.split(command)[2:])
        if not any(label.startswith("role=") for label in options.get("--label", [])):
            continue  # the proxy's or an accessory's container
        rows.append({"host": host, "name": options.get("--name", [None])[0],
                     "labels": ", ".join(options.get("--label", [])),
                     "env_file": ", ".join(options.get("--env-file", [])),
                     "image": options.get("", [None])[0]})
    return frame(rows, ["host", "name", "labels", "env_file", "image"])


def _options(words: list[str]) -> dict[str, list[str]]:
    """`docker run`'s options by name (flags without a value are skipped); "" is the image."""
    flags = {"--detach", "--rm", "--interactive", "--tty", "-d", "-i", "-t", "-it"}
    found: dict[str, list[str]] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if not word.startswith("-"):
            found.setdefault("", []).append(word)
            break
        if word in flags:
            index += 1
            continue
        name, _, value = word.partition("=")
        if not value and index + 1 < len(words):
            value = words[index + 1]
            index += 1
        found.setdefault(name, []).append(value)
        index += 1
    return found


# ---- Kamal 1's cord file --------------------------------------------------------------

CORD_DIRECTORY = "/tmp/kamal-cord"  # Kamal 1's `healthcheck.cord` default, inside the container
CORD_FILE = "cord"


class CordDemo:
    """Kamal 1's zero-downtime trick, on a real container of the app's image on one host.

    Kamal 1 (with Traefik) started every web container with a Docker health check that
    tested both the app's health path and a "cord" file in a directory mounted from the
    host: `(curl -f http://localhost:3000/up || exit 1) && (stat /tmp/kamal-cord/cord >
    /dev/null || exit 1)`. To retire a container it deleted that directory on the host
    ("cut the cord"): the health check failed, Docker marked the container unhealthy,
    Traefik stopped routing to it, and only then was it stopped.

    This demo container is not part of the app: its name is its own, it has no `service`
    label (so no Kamal command counts it), and `remove()` deletes it and its cord directory.
    """

    def __init__(self, app: App, host: str | None = None, *, image: str | None = None,
                 plan: bool = False) -> None:
        config = app.config
        role = config.primary_role or config.roles[0]
        self.app = app
        self.plan = plan
        self.host = host or config.primary_host or role.hosts[0]
        # The image the app runs now (it is on the host), else the one a deploy would run.
        self.image = image or (not plan and self._running_image(role.name)) or config.absolute_image
        self.name = f"kamal1-cord-demo-{config.service}"
        self.cmd = role.cmd
        proxy = role.proxy
        port, path = (proxy.app_port, proxy.healthcheck_path) if proxy else (80, "/up")
        self.url = f"http://localhost:{port}{path}"
        # Kamal 1: .kamal/cords/<service>-<role>-<run id>, a run id of 32 hex per kamal run.
        self.cord_directory = f".kamal/cords/{role.container_prefix}-{secrets.token_hex(16)}"
        self.cord_file = f"{self.cord_directory}/{CORD_FILE}"
        self.observed: list[dict[str, Any]] = []
        self._started = time.monotonic()

    def _running_image(self, role: str) -> str:
        """The image of the role's newest running container on the host ("" when none runs)."""
        config = self.app.config
        newest = (f"docker ps --latest --quiet --filter label=service={config.service} "
                  f"--filter label=role={role} --filter label=destination={config.destination or ''}")
        found = shell(self.app, self.host, f"docker inspect --format '{{{{.Config.Image}}}}' $({newest})")
        return found.text if found.ok else ""

    # The commands, as Kamal 1 ran them (the probe falls back to wget: a busybox image has no curl).

    @property
    def health_cmd(self) -> str:
        probe = f"curl -fs {self.url} > /dev/null 2>&1 || wget -q -O /dev/null {self.url}"
        return f"({probe} || exit 1) && (stat {CORD_DIRECTORY}/{CORD_FILE} > /dev/null || exit 1)"

    def commands(self) -> pandas.DataFrame:
        """Each step of the demo and its command line."""
        from kamalnb.frames import frame

        return frame([{"step": step, "command": command} for step, command in self._commands().items()],
                     ["step", "command"])

    def _commands(self) -> dict[str, str]:
        run = ["docker", "run", "--detach", "--name", self.name, "--health-cmd", self.health_cmd,
               "--health-interval", "1s", "--label", "kamalnb.demo=cord", "--log-opt", "max-size=10m"]
        volume = f"--volume $(pwd)/{self.cord_directory}:{CORD_DIRECTORY}"
        image = " ".join(shlex.quote(word) for word in [self.image, *(shlex.split(self.cmd) if self.cmd else [])])
        return {
            "tie the cord": f"mkdir -p {self.cord_directory} ; touch {self.cord_file}",
            "run": f"{shlex.join(run)} {volume} {image}",
            "health": f"docker inspect --format '{{{{.State.Health.Status}}}}' {self.name}",
            "find the cord": (f"docker inspect -f '{{{{ range .Mounts }}}}{{{{printf \"%s %s\\n\" .Source "
                              f".Destination}}}}{{{{ end }}}}' {self.name} | awk '$2 == \"{CORD_DIRECTORY}\" "
                              "{print $1}'"),
            "cut the cord": f"rm -r {self.cord_directory}",
            "health log": f"docker inspect --format '{{{{json .State.Health.Log}}}}' {self.name}",
            "remove": (f"docker rm --force {self.name} ; rm -rf {self.cord_directory} ; "
                       "rmdir .kamal/cords 2>/dev/null ; true"),
        }

    def _run(self, step: str) -> HostOutput:
        return shell(self.app, self.host, self._commands()[step], plan=self.plan)

    # The demo's steps, each returning what the host printed.

    def tie(self) -> HostOutput:
        """Create the cord file on the host, before the container starts."""
        return self._run("tie the cord")

    def start(self) -> HostOutput:
        """Run the container with the cord directory mounted and the health check (a demo
        container left by an interrupted run is removed first)."""
        if not self.plan:
            shell(self.app, self.host, f"docker rm --force {self.name} > /dev/null 2>&1 ; true")
        self.observed.clear()
        self._started = time.monotonic()
        return self._run("run")

    def status(self) -> HostOutput:
        """Docker's health status of the container: starting, healthy or unhealthy."""
        return self._run("health")

    def find_cord(self) -> HostOutput:
        """The cord's directory on the host, read from the container's mounts, as Kamal 1 did."""
        return self._run("find the cord")

    def cut(self) -> HostOutput:
        """Delete the cord directory: from now on every health check fails."""
        return self._run("cut the cord")

    def remove(self) -> HostOutput:
        """Remove the container and its cord directory."""
        return self._run("remove")

    def wait_for(self, wanted: str, *, timeout: float = 30, every: float = 0.5) -> pandas.DataFrame | None:
        """Poll the health status until it is `wanted` (or `timeout` seconds pass); the
        table of what each poll answered, seconds counted from `start()`. In plan mode
        it says which command would poll, and returns None."""
        from kamalnb.frames import frame

        columns = ["second", "status", "polls"]
        if self.plan:
            print(f"Plan mode: polls `{self._commands()['health']}` on {self.host}, skipped.")
            return None
        deadline = time.monotonic() + timeout
        while True:
            answer = self.status()
            status = answer.text if answer.ok else f"error: {answer.stderr.strip()}"
            self.observed.append({"second": round(time.monotonic() - self._started, 1), "status": status})
            if status == wanted or time.monotonic() >= deadline:
                break
            time.sleep(every)
        return frame(_changes(self.observed), columns)

    def health_log(self, last: int = 3) -> pandas.DataFrame | None:
        """Docker's last health checks of the container: when, exit code, what the check printed."""
        import json

        from kamalnb.frames import frame

        columns = ["start", "exit_code", "output"]
        if self.plan:
            print(f"Plan mode: reads `{self._commands()['health log']}` on {self.host}, skipped.")
            return None
        answer = self._run("health log")
        entries = json.loads(answer.text or "null") or [] if answer.ok else []
        return frame([{"start": entry.get("Start", "")[:19].replace("T", " "), "exit_code": entry.get("ExitCode"),
                       "output": entry.get("Output", "").strip()} for entry in entries[-last:]], columns)

    def statuses(self) -> list[str]:
        """Every status polled so far, in order, repeats folded."""
        return [row["status"] for row in _changes(self.observed)]


def _changes(observed: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The polls folded by status: when each status was first seen, and how many polls saw it."""
    kept: list[dict[str, Any]] = []
    for row in observed:
        if kept and kept[-1]["status"] == row["status"]:
            kept[-1]["polls"] += 1
        else:
            kept.append({**row, "polls": 1})
    return kept
