"""`deploy --plan` for many configured hosts: in process and from the command line.

    python bench/plan.py [--hosts 1000,10000] [--rounds N]

A throw-away project (deploy.yml, secrets, Dockerfile, one git commit) with that many web
hosts; nothing connects anywhere. In process: `App.deploy(plan=True)` and `str()` of the
plan (what a notebook shows); from the command line: `kamalnb deploy -P --plan`, output
discarded. Rounds alternate between the sizes and the medians are shown with seconds per
thousand hosts, which stays flat when the plan is linear in hosts. Targets: 1 s at 1,000
hosts, 10 s at 10,000.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {1000: 1.0, 10000: 10.0}
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.test"]


def project(root: Path, hosts: int) -> Path:
    addresses = "\n".join(f"    - 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256 + 1}" for i in range(hosts))
    (root / "config").mkdir(parents=True)
    (root / "config" / "deploy.yml").write_text(
        f"service: bench\nimage: acme/bench\nservers:\n  web:\n{addresses}\n"
        "registry:\n  server: registry.example.test\n  username: acme\n  password:\n    - KAMAL_REGISTRY_PASSWORD\n"
        "builder:\n  arch: amd64\nproxy:\n  app_port: 3000\n")
    (root / ".kamal").mkdir()
    (root / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=secret\n")
    (root / "Dockerfile").write_text("FROM scratch\n")
    subprocess.run([*GIT, "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "bench"], cwd=root, check=True)
    return root


def in_process(root: Path) -> float:
    import kamalnb

    started = time.perf_counter()
    app = kamalnb.load(root / "config" / "deploy.yml", root=root)
    plan = app.deploy(skip_push=True, plan=True, ui="silent")
    str(plan)
    return time.perf_counter() - started


def command_line(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kamalnb", "deploy", "-P", "--plan"], cwd=root, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1000,10000", help="comma-separated host counts (1000,10000)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.hosts.split(",")]
    samples: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="kamalnb-plan-bench-") as scratch:
        roots = {size: project(Path(scratch) / str(size), size) for size in sizes}
        for _ in range(args.rounds):
            for size in sizes:
                samples.setdefault((size, "in process"), []).append(in_process(roots[size]))
                samples.setdefault((size, "command line"), []).append(command_line(roots[size]))
    print(f"deploy -P --plan, median of {args.rounds} alternating rounds")
    print(f"{'hosts':>7} {'where':<13}{'seconds':>9}{'s/1000 hosts':>14}{'target':>8}{'ratio':>7}")
    for size in sizes:
        for where in ("in process", "command line"):
            seconds = statistics.median(samples[(size, where)])
            target = TARGETS.get(size, size / 1000)
            per_thousand = seconds / size * 1000
            print(f"{size:>7} {where:<13}{seconds:9.2f}{per_thousand:14.3f}{target:7.2f}s{seconds / target:6.2f}x")


if __name__ == "__main__":
    main()
