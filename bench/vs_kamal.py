"""kamalnb against the real Kamal 2.11 on the same sandbox hosts, command by command.

    python bench/vs_kamal.py [--sandbox NAME] [--hosts N] [--rounds N]

Two copies of the sample app, one per tool (services `vskamal` and `vskamalnb`), each a
`web` role with `proxy: false` on the sandbox's first N hosts (there is no kamal-proxy
here). Kamal builds with `docker buildx`, which this machine lacks: a `docker` on its PATH
turns `docker buildx build --output=type=registry ... -t A -t B` into the classic build and
a push per tag (what kamalnb does without buildx) and passes every other command through.

Each round commits a new version to both copies, then runs, each tool in turn (the order
alternating per round), both from the command line: `deploy`, `deploy -P --version
<previous>`, `rollback <new>`, `app containers`, `server exec true`. Medians per command
and the ratio kamalnb / Kamal are printed. Target: 0.5x or less for each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from kamalnb.sandbox import Sandbox, sample_app

KAMAL = Path(sys.executable).parent / "kamal"
KAMALNB = [sys.executable, "-m", "kamalnb"]
TARGET = 0.5
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.test"]

DOCKER_SHIM = """\
#!{python}
import os, subprocess, sys

REAL = {real!r}
args = sys.argv[1:]
if args[:1] != ["buildx"]:
    os.execv(REAL, [REAL, *args])
if args[1:2] != ["build"]:
    sys.exit(0)  # version, inspect, create, rm: the classic builder needs no builder
tags, kept, rest = [], [], iter(args[2:])
for arg in rest:
    if arg in ("-t", "--tag"):
        tags.append(next(rest))
    elif arg in ("--platform", "--builder"):
        next(rest)
    elif arg.startswith(("--output", "--platform=", "--builder=")) or arg == "--push":
        continue
    else:
        kept.append(arg)
built = subprocess.run([REAL, "build", *[f"-t{{tag}}" for tag in tags], *kept])
for tag in tags if built.returncode == 0 else ():
    if subprocess.run([REAL, "push", "-q", tag]).returncode:
        sys.exit(1)
sys.exit(built.returncode)
"""


def docker_shim(directory: Path) -> Path:
    real = next(path for path in (shutil.which("docker", path=entry) for entry in os.environ["PATH"].split(":"))
                if path)
    shim = directory / "docker"
    shim.write_text(DOCKER_SHIM.format(python=sys.executable, real=real))
    shim.chmod(0o755)
    return directory


def project(sandbox: Sandbox, root: Path, service: str, hosts: int) -> Path:
    subprocess.run([*GIT, "clone", "-q", str(sandbox.app_dir), str(root)], check=True)
    data = yaml.safe_load((root / "config" / "deploy.yml").read_text())
    data["service"] = service
    data["image"] = f"bench/{service}"
    data["servers"] = {"web": {"hosts": [h.address for h in sandbox.hosts[:hosts]], "proxy": False}}
    for key in ("proxy", "accessories"):
        data.pop(key, None)
    data["env"] = {}
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    (root / ".kamal" / "hooks").mkdir(parents=True, exist_ok=True)
    (root / ".kamal" / "secrets").write_text((sandbox.app_dir / ".kamal" / "secrets").read_text())
    subprocess.run([*GIT, "commit", "-qam", "bench"], cwd=root, check=True)
    return root


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"`{' '.join(argv)}` failed in {cwd}:\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="default", help="sandbox name (default: default)")
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sandbox = Sandbox.find(args.sandbox)
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="kamalnb-vs-kamal-") as scratch:
        shim = docker_shim(Path(scratch))
        env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "DOCKER_HOST": sandbox.laptop_docker_host}
        tools = {"kamal": ([str(KAMAL)], project(sandbox, Path(scratch) / "kamal", "vskamal", args.hosts)),
                 "kamalnb": (KAMALNB, project(sandbox, Path(scratch) / "kamalnb", "vskamalnb", args.hosts))}
        versions = {tool: [sample_app.new_version(root, "first")] for tool, (_, root) in tools.items()}
        for argv, root in tools.values():
            timed([*argv, "deploy"], root, env)
        # A first round warms caches and connections; it is not counted.
        for round_ in range(args.rounds + 1):
            order = list(tools) if round_ % 2 else list(reversed(tools))
            for tool in order:
                versions[tool].append(sample_app.new_version(tools[tool][1], f"round {round_}"))
            commands = {
                "deploy": lambda tool: ["deploy"],
                "deploy -P": lambda tool: ["deploy", "-P", "--version", versions[tool][-2]],
                "rollback": lambda tool: ["rollback", versions[tool][-1]],
                "app containers": lambda tool: ["app", "containers"],
                "server exec": lambda tool: ["server", "exec", "true"],
            }
            for name, arguments in commands.items():
                for tool in order:
                    argv, root = tools[tool]
                    seconds = timed([*argv, *arguments(tool)], root, env)
                    if round_:
                        samples.setdefault((name, tool), []).append(seconds)
        for argv, root in tools.values():
            timed([*argv, "app", "remove"], root, env)
    print(f"median of {args.rounds} rounds, each tool in turn, {args.hosts} hosts of sandbox {args.sandbox}, "
          f"web role with proxy: false")
    print(f"{'command':<16}{'Kamal 2.11':>11}{'kamalnb':>10}{'ratio':>8}")
    for name in ("deploy", "deploy -P", "rollback", "app containers", "server exec"):
        kamal, ours = (statistics.median(samples[(name, tool)]) for tool in ("kamal", "kamalnb"))
        print(f"{name:<16}{kamal:10.2f}s{ours:9.2f}s{ours / kamal:7.2f}x")
    print(f"target: {TARGET}x")


if __name__ == "__main__":
    main()
