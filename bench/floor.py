"""A deploy of a pushed version against the floor: the docker work it must do, nothing else.

    python bench/floor.py [--sandbox NAME] [--sizes 1,3,10] [--rounds N]

On the first 1, 3, 10 (...) hosts of a running sandbox, one web role behind the proxy (the
sample app's deploy.yml without its `asset_path` and its health check `interval`):

- floor: over one warm SSH connection per host, all hosts in parallel: `docker pull`,
  `docker run` (and its address), `/up` polled until it answers 200, `docker stop` of the
  previous container;
- in process: `App.deploy(version=..., skip_push=True)` on an app loaded once;
- command line: `kamalnb deploy -P --version ...`, a new process each time.

Each round deploys the next version (two pushed tags, alternating) with every method at
every size, interleaved; medians and their ratio to the floor are printed. Targets: in
process at most 1.15x the floor, command line 1.3x.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import kamalnb
from kamalnb.commands.base import Command
from kamalnb.errors import HostError
from kamalnb.executors import SshExecutor
from kamalnb.fanout import fan_out
from kamalnb.sandbox import Sandbox

SERVICE = "bench"
TAGS = ("bench-a", "bench-b")
TARGETS = {"in process": 1.15, "command line": 1.3}
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.test"]


def sizes_parser(description: str, sizes: str, *, rounds: int) -> argparse.ArgumentParser:
    """The arguments of a bench on the first hosts of a sandbox: its name, the host counts
    and the rounds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sandbox", default="default", help="sandbox name (default: default)")
    parser.add_argument("--sizes", default=sizes, help=f"host counts, each at most the sandbox's ({sizes})")
    parser.add_argument("--rounds", type=int, default=rounds)
    return parser


def sandbox_and_sizes(args: argparse.Namespace) -> tuple[Sandbox, list[int]]:
    sandbox = Sandbox.find(args.sandbox)
    sizes = [int(size) for size in args.sizes.split(",")]
    if max(sizes) > len(sandbox.hosts):
        raise SystemExit(f"sandbox {args.sandbox} has {len(sandbox.hosts)} hosts; start a bigger one")
    return sandbox, sizes


def push_images(sandbox: Sandbox) -> str:
    """The sample app, labelled as the bench service, pushed under both tags; the repository."""
    repository = f"{sandbox.registry}/{SERVICE}/app"
    tags = [argument for tag in TAGS for argument in ("-t", f"{repository}:{tag}")]
    sandbox.laptop_docker("build", "-q", *tags, "--label", f"service={SERVICE}",
                          "--build-arg", f"BASE_IMAGE={sandbox.base_image}", str(sandbox.app_dir))
    for tag in TAGS:
        sandbox.laptop_docker("push", "-q", f"{repository}:{tag}")
    return repository


def project(sandbox: Sandbox, root: Path, size: int) -> Path:
    """The sample app's deploy.yml cut down to one web role on the first `size` hosts."""
    data = yaml.safe_load((sandbox.app_dir / "config" / "deploy.yml").read_text())
    data["service"] = SERVICE
    data["image"] = f"{SERVICE}/app"
    data["servers"] = {"web": [host.address for host in sandbox.hosts[:size]]}
    data["proxy"]["host"] = f"floor{size}.example.test"
    data.pop("accessories", None)
    # Asset bridging is docker work the floor below does not do (extracting the image's assets
    # on every host): without it, both sides do the same work.
    data.pop("asset_path", None)
    # The health check's `interval` is a wait the user chose, not docker work: without it
    # kamalnb checks every 0.1 s, the floor every 0.05 s.
    data["proxy"].get("healthcheck", {}).pop("interval", None)
    data["env"] = {}
    (root / "config").mkdir(parents=True)
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    (root / ".kamal").mkdir()
    (root / ".kamal" / "secrets").write_text((sandbox.app_dir / ".kamal" / "secrets").read_text())
    (root / "Dockerfile").write_text("FROM scratch\n")
    subprocess.run([*GIT, "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "bench"], cwd=root, check=True)
    return root


class Floor:
    """The docker work alone, on connections kept warm across rounds."""

    def __init__(self, executor: SshExecutor, repository: str, hosts: list[str], size: int) -> None:
        self.executor = executor
        self.repository = repository
        self.hosts = hosts
        self.name = f"floor{size}"
        self.count = 0

    def deploy(self, tag: str) -> float:
        self.count += 1
        started = time.perf_counter()
        fan_out(self.hosts, lambda host: self._on(host, tag)).check("floor")
        return time.perf_counter() - started

    def _on(self, host: str, tag: str) -> None:
        run = self.executor.run
        image = f"{self.repository}:{tag}"
        new, old = f"{self.name}-{self.count}", f"{self.name}-{self.count - 1}"
        run(host, Command.from_argv(["docker", "pull", "-q", image]))
        address = run(host, Command((
            f"docker run -d --name {new} --network kamal {shlex.quote(image)} >/dev/null &&",
            "docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'", new))).stdout.strip()
        while True:
            try:
                if self.executor.http(host, "GET", address, 80, "/up", timeout=2).status == 200:
                    break
            except (OSError, HostError):
                pass  # not listening yet
            time.sleep(0.05)
        if self.count > 1:
            run(host, Command.from_argv(["docker", "stop", old]), check=False)

    def clean(self) -> None:
        fan_out(self.hosts, lambda host: self.executor.run(host, Command(
            (f"docker ps -aq --filter name=^{self.name}- | xargs -r docker rm -f",)), check=False))


def main() -> None:
    args = sizes_parser(__doc__.splitlines()[0], "1,3,10", rounds=5).parse_args()
    sandbox, sizes = sandbox_and_sizes(args)
    repository = push_images(sandbox)
    samples: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="kamalnb-floor-") as scratch:
        roots = {size: project(sandbox, Path(scratch) / str(size), size) for size in sizes}
        apps = {(size, tag): kamalnb.load(roots[size] / "config" / "deploy.yml", root=roots[size], version=tag)
                for size in sizes for tag in TAGS}
        executor = SshExecutor.from_config(apps[(sizes[0], TAGS[0])].config)
        floors = {size: Floor(executor, repository, [h.address for h in sandbox.hosts[:size]], size) for size in sizes}

        def in_process(size: int, tag: str) -> float:
            started = time.perf_counter()
            apps[(size, tag)].deploy(skip_push=True, ui="silent")
            return time.perf_counter() - started

        def command_line(size: int, tag: str) -> float:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kamalnb", "deploy", "-P", "--version", tag], cwd=roots[size],
                           check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - started

        # kamalnb's first deploy boots the proxy and makes the `kamal` network the floor uses.
        methods = {"in process": in_process, "command line": command_line,
                   "floor": lambda size, tag: floors[size].deploy(tag)}
        # Each deploy goes to the other tag than the last one on those hosts, for both tools.
        deploys = {(size, tool): 0 for size in sizes for tool in ("kamalnb", "floor")}
        try:
            # A first round of each warms images, proxies and connections; it is not counted.
            for round_ in range(args.rounds + 1):
                for size in sizes:
                    for name, method in methods.items():
                        tool = "floor" if name == "floor" else "kamalnb"
                        deploys[(size, tool)] += 1
                        seconds = method(size, TAGS[deploys[(size, tool)] % 2])
                        if round_:
                            samples.setdefault((size, name), []).append(seconds)
        finally:
            for floor in floors.values():
                floor.clean()
            executor.close()
    print(f"deploy of a pushed version, median of {args.rounds} interleaved rounds, sandbox {args.sandbox}")
    print(f"{'hosts':>5}  {'floor':>7}  {'in process':>10} {'ratio':>6}  {'command line':>12} {'ratio':>6}")
    for size in sizes:
        floor = statistics.median(samples[(size, "floor")])
        inside = statistics.median(samples[(size, "in process")])
        cli = statistics.median(samples[(size, "command line")])
        print(f"{size:>5}  {floor:6.2f}s  {inside:9.2f}s {inside / floor:5.2f}x  {cli:11.2f}s {cli / floor:5.2f}x")
    print(f"targets: in process {TARGETS['in process']}x, command line {TARGETS['command line']}x")


if __name__ == "__main__":
    main()
