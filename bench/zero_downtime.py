"""No request dropped: deploys, rollbacks, failures, a proxy reboot and killed deploys under load.

    python bench/zero_downtime.py [--name SANDBOX] [--rate R] [--clients N] [--scenario NAME ...]

Brings the sandbox up if it is not running, clones its sample app into a temporary
directory, deploys it to every host with the `kamalnb` command, and then runs each scenario
while clients send about R requests per second spread over the hosts through their proxies
(half on kept-alive connections, half on a new connection each). A request fails unless
its answer is one version's whole page (`GET /`, the version in its title and its body, to
the closing tag). The clients stand for a load balancer in front of the hosts: a host that
refuses a connection (nothing was sent) has that request sent to the next host, counted as
moved. Prints a row per scenario (requests, failures, moved, p50 and p99 latency, and what
the fleet serves afterwards) and exits non-zero if any request failed.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kamalnb.sandbox import Sandbox, sample_app
from kamalnb.sandbox.traffic import Tally, Traffic, whole_page

KAMALNB = [sys.executable, "-m", "kamalnb"]
# The boot phases a deploy is killed in, each followed by the next deploy of that version.
KILL_PHASES = ("start", "health", "switch", "drain", "stop")
# Requests sent before a scenario starts and after it ends, so that both ends are under load.
SETTLE = 100
# Seconds a request stays in flight on the old container while a deploy drains it.
IN_FLIGHT = 6


@dataclass
class Row:
    scenario: str
    tally: Tally
    outcome: str


@dataclass
class Run:
    """A scenario under way: its traffic, and what it found, in words."""

    traffic: Traffic
    outcome: list[str]


class Project:
    """A clone of the sandbox's sample app, deployed with `kamalnb` as its users run it."""

    def __init__(self, sandbox: Sandbox, path: Path) -> None:
        self.sandbox, self.path = sandbox, path
        subprocess.run(["git", "clone", "-q", str(sandbox.app_dir), str(path)], check=True)
        (path / ".kamal" / "hooks").mkdir(parents=True, exist_ok=True)
        (path / ".kamal" / "secrets").write_text((sandbox.app_dir / ".kamal" / "secrets").read_text())
        self.hosts = [host.address for host in sandbox.hosts]

    def kamalnb(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*KAMALNB, *args], cwd=self.path, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, "KAMALNB_UI": "text"})
        if check and done.returncode != 0:
            raise RuntimeError(f"kamalnb {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done

    def built(self, note: str) -> str:
        """A new version, built and pushed to the registry but not deployed."""
        version = sample_app.new_version(self.path, note)
        self.kamalnb("build", "push")
        return version

    def edited(self, change: Callable[[dict[str, Any]], None]) -> AbstractContextManager[None]:
        return sample_app.config_edited(self.path, change)

    def serving(self) -> list[str]:
        """What `/version` answers on each host."""
        answers = []
        for host in self.hosts:
            try:
                with urllib.request.urlopen(f"http://{host}/version", timeout=3) as response:
                    answers.append(response.read().decode().strip())
            except OSError as error:
                answers.append(f"error: {error}")
        return answers

    def running(self) -> str:
        versions = set(self.serving())
        if len(versions) != 1:
            raise RuntimeError(f"the hosts serve different versions: {self.serving()}")
        return versions.pop()

    def restore(self) -> str:
        """A lock left by a killed deploy broken and one version on every host; that version."""
        self.kamalnb("lock", "release", "--force", check=False)
        versions = set(self.serving())
        if len(versions) != 1 or any(version.startswith("error") for version in versions):
            self.kamalnb("deploy", "-P", "--version", self.built("restore"))
        return self.running()


def short(version: str) -> str:
    return version if version.startswith("error") else version[:7]


def fleet(project: Project, names: dict[str, str]) -> str:
    """What the hosts serve, in words (`names`: version -> word): one version everywhere, or each host's."""
    serving = [names.get(version, short(version)) for version in project.serving()]
    if len(set(serving)) == 1:
        return f"{serving[0]} on every host"
    return "mixed: " + ", ".join(serving)


def command_outcome(done: subprocess.CompletedProcess[str]) -> str:
    if done.returncode == 0:
        return "ok"
    errors = [line.removeprefix("ERROR:").strip(" :") for line in done.stderr.splitlines() if line.startswith("ERROR")]
    return f"failed ({errors[0][:70] if errors else f'exit {done.returncode}'})"


def in_flight(hosts: list[str], seconds: int, traffic: Traffic) -> list[threading.Thread]:
    """One slow request per host (`/cgi-bin/slow?SECONDS`), held on the container serving it,
    tallied with `traffic`'s requests."""

    def request(host: str) -> None:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://{host}/cgi-bin/slow?{seconds}", timeout=seconds + 30) as response:
                answer, failure = f"slow {response.read().decode().strip()}", None
        except OSError as error:
            answer, failure = None, f"slow request: {error}"[:120]
        traffic.record(answer, failure, time.monotonic() - started)

    threads = [threading.Thread(target=request, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    return threads


def lasting(phase: str, data: dict[str, Any]) -> None:
    """deploy.yml changed so that `phase` lasts long enough to be killed in: the health check
    answers after a few seconds; the drain waits for the slow requests `in_flight` sends."""
    if phase == "health":
        data["env"]["clear"]["START_DELAY"] = "4"
    if phase == "drain":
        data["drain_timeout"] = IN_FLIGHT + 10


class Bench:
    def __init__(self, project: Project, args: argparse.Namespace) -> None:
        self.project, self.args = project, args
        self.rows: list[Row] = []

    @contextmanager
    def load(self, scenario: str) -> Iterator[Run]:
        """Traffic while the block runs; the block adds what it found to the run's outcome."""
        with Traffic(self.project.hosts, path="/", rate=self.args.rate, clients=self.args.clients,
                     check=whole_page, failover=True, max_seconds=600) as traffic:
            run = Run(traffic, [])
            traffic.wait_for(SETTLE)
            yield run
            traffic.wait_for(SETTLE)
        self.rows.append(Row(scenario, traffic.tally, "; ".join(run.outcome)))
        print(f"{scenario}: {traffic.tally}; {'; '.join(run.outcome)}", file=sys.stderr)

    def deploy(self) -> None:
        old = self.project.restore()
        new = sample_app.new_version(self.project.path, "a new version")
        with self.load("deploy (new version)") as run:
            done = self.project.kamalnb("deploy", check=False)
            run.outcome += [command_outcome(done), fleet(self.project, {old: "old", new: "new"})]

    def redeploy_running(self) -> None:
        running = self.project.restore()
        with self.load("deploy -P --version <running>") as run:
            done = self.project.kamalnb("deploy", "-P", "--version", running, check=False)
            run.outcome += [command_outcome(done), fleet(self.project, {running: "same version"})]

    def rollback(self) -> None:
        previous = self.project.restore()
        new = self.project.built("to roll back from")
        self.project.kamalnb("deploy", "-P", "--version", new)
        with self.load("rollback") as run:
            done = self.project.kamalnb("rollback", previous, check=False)
            run.outcome += [command_outcome(done), fleet(self.project, {previous: "previous", new: "new"})]

    def rolling(self) -> None:
        old = self.project.restore()
        new = self.project.built("rolling")
        with self.project.edited(lambda data: data.update(boot={"limit": 1})), \
                self.load("deploy with boot.limit: 1") as run:
            done = self.project.kamalnb("deploy", "-P", "--version", new, check=False)
            run.outcome += [command_outcome(done), fleet(self.project, {old: "old", new: "new"})]

    def never_healthy(self) -> None:
        old = self.project.restore()
        new = self.project.built("never healthy")
        with self.project.edited(lambda data: data["env"]["clear"].update(NEVER_HEALTHY="1")), \
                self.load("never-healthy version") as run:
            done = self.project.kamalnb("deploy", "-P", "--version", new, check=False)
            run.outcome += [command_outcome(done).split(" (")[0], fleet(self.project, {old: "old", new: "new"})]

    def last_host_fails(self) -> None:
        """The last host carries a tag whose env makes the new version never healthy there."""
        old = self.project.restore()
        new = self.project.built("fails on the last host")

        def change(data: dict[str, Any]) -> None:
            hosts = data["servers"]["web"]["hosts"]
            hosts[-1] = {hosts[-1]: ["broken"]}
            data["env"]["tags"] = {"broken": {"NEVER_HEALTHY": "1"}}
            data["boot"] = {"limit": 1}

        with self.project.edited(change), self.load("fails on the last host (boot.limit: 1)") as run:
            done = self.project.kamalnb("deploy", "-P", "--version", new, check=False)
            run.outcome += [command_outcome(done).split(" (")[0], fleet(self.project, {old: "old", new: "new"})]

    def proxy_reboot(self) -> None:
        running = self.project.restore()
        with self.load("proxy reboot --rolling -y") as run:
            done = self.project.kamalnb("proxy", "reboot", "--rolling", "-y", check=False)
            run.outcome += [command_outcome(done), fleet(self.project, {running: "same version"})]

    def killed(self, phase: str) -> None:
        """kamalnb SIGKILLed when a host's web role enters `phase`; then the lock it left is
        released and that version deployed again."""
        old = self.project.restore()
        new = self.project.built(f"killed in {phase}")
        slow: list[threading.Thread] = []
        with self.load(f"killed in {phase}, then deploy") as run:
            with self.project.edited(lambda data: lasting(phase, data)):
                process = subprocess.Popen([*KAMALNB, "deploy", "-P", "--version", new], cwd=self.project.path,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                           stdin=subprocess.DEVNULL, env={**os.environ, "KAMALNB_UI": "text"})
                assert process.stdout is not None
                killed = False
                for line in process.stdout:
                    if phase == "drain" and not slow and re.search(r"\] web start$", line.rstrip()):
                        slow = in_flight(self.project.hosts, IN_FLIGHT, run.traffic)
                    if re.search(rf"\] web {phase}$", line.rstrip()):
                        process.send_signal(signal.SIGKILL)
                        killed = True
                        break
                process.stdout.close()
                process.wait()
            run.outcome.append(f"killed in {phase}" if killed else f"not killed: exit {process.returncode}")
            for thread in slow:
                thread.join()
            # What the refused deploy tells its user to do when the deploy holding the lock is gone.
            self.project.kamalnb("lock", "release")
            done = self.project.kamalnb("deploy", "-P", "--version", new, check=False)
            run.outcome += [f"next deploy {command_outcome(done)}", fleet(self.project, {old: "old", new: "new"})]


def scenarios(bench: Bench) -> dict[str, Callable[[], None]]:
    chosen: dict[str, Callable[[], None]] = {
        "deploy": bench.deploy, "redeploy": bench.redeploy_running, "rollback": bench.rollback,
        "rolling": bench.rolling, "never-healthy": bench.never_healthy, "last-host-fails": bench.last_host_fails,
        "proxy-reboot": bench.proxy_reboot,
    }
    for phase in KILL_PHASES:
        chosen[f"kill-{phase}"] = functools.partial(bench.killed, phase)
    return chosen


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds == seconds else "-"


def table(rows: list[Row]) -> str:
    lines = [f"{'scenario':<40} {'requests':>8} {'failed':>6} {'moved':>5} {'p50':>7} {'p99':>8}  outcome"]
    for row in rows:
        tally = row.tally
        lines.append(f"{row.scenario:<40} {tally.requests:>8} {tally.failed:>6} {tally.moved:>5} "
                     f"{ms(tally.p50):>7} {ms(tally.p99):>8}  {row.outcome}")
    failures = Counter[str]()
    for row in rows:
        failures.update({f"{row.scenario}: {kind}": count for kind, count in row.tally.failures.items()})
    lines += [f"  {count} x {kind}" for kind, count in failures.most_common(20)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="bench", help="the sandbox (brought up if it is not running)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second over all hosts")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--scenario", action="append", help="run only these (repeatable)")
    args = parser.parse_args()

    sandbox = Sandbox(args.name, hosts=3)
    if not sandbox.running():
        sandbox.up()
    with tempfile.TemporaryDirectory(prefix="kamalnb-zero-downtime-") as scratch:
        project = Project(sandbox, Path(scratch) / "sample")
        project.kamalnb("lock", "release", "--force", check=False)
        project.kamalnb("deploy")
        bench = Bench(project, args)
        everything = scenarios(bench)
        unknown = set(args.scenario or ()) - set(everything)
        if unknown:
            parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(everything)}")
        for name, run in everything.items():
            if not args.scenario or name in args.scenario:
                run()
    print(f"GET / at about {args.rate:.0f} requests/s from {args.clients} clients over {len(project.hosts)} hosts "
          f"(half kept alive); a failure is any answer other than one version's whole page")
    print(table(bench.rows))
    return 1 if any(row.tally.failed for row in bench.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
