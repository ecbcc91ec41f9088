"""A remote build of the sample app on a sandbox host: the context streamed as a tar over
kamalnb's SSH connection to `docker build -` there, vs this machine's docker CLI pointed at
the host's engine with `DOCKER_HOST=ssh://root@host`.

    python bench/remote_build.py [--sandbox NAME] [--runs N] [--no-cache]

Both build the same context with the same arguments on the same engine, alternately, `runs`
times each; prints every time, the medians and their ratio. The docker CLI reaches the host
through the system's `ssh`, given the sandbox's ssh config by a wrapper first on PATH (it
has no way to take one).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kamalnb.commands.base import Command
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.sandbox import Sandbox
from kamalnb.steps.build import context_tar


def build_words(sandbox: Sandbox, tag: str, no_cache: bool) -> list[str]:
    return ["docker", "build", "-t", tag, "--build-arg", f"BASE_IMAGE={sandbox.base_image}",
            *(["--no-cache"] if no_cache else []), "--file", "Dockerfile"]


def streamed(sandbox: Sandbox, ssh: SshExecutor, host: str, no_cache: bool) -> float:
    started = time.perf_counter()
    tar = context_tar(sandbox.app_dir, ".", "Dockerfile")
    words = [*build_words(sandbox, "bench/remote-build:streamed", no_cache), "-"]
    ssh.run(host, dataclasses.replace(Command.from_argv(words), stdin=tar))
    return time.perf_counter() - started


def docker_over_ssh(sandbox: Sandbox, host: str, no_cache: bool, wrapper_dir: Path) -> float:
    env = {**os.environ, "DOCKER_HOST": f"ssh://{sandbox.user}@{host}",
           "PATH": f"{wrapper_dir}:{os.environ['PATH']}"}
    started = time.perf_counter()
    done = subprocess.run([*build_words(sandbox, "bench/remote-build:cli", no_cache), "."], cwd=sandbox.app_dir,
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"docker over ssh failed: {done.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sandbox", default="default")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-cache", action="store_true", help="rebuild every layer each time")
    args = parser.parse_args()
    sandbox = Sandbox.find(args.sandbox)
    host = sandbox.hosts[0].address
    with tempfile.TemporaryDirectory() as wrapper_dir:
        wrapper = Path(wrapper_dir) / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {sandbox.ssh_config} "$@"\n')
        wrapper.chmod(0o755)
        with SshExecutor(SshSettings(config=str(sandbox.ssh_config))) as ssh:
            times: dict[str, list[float]] = {"streamed over kamalnb's SSH": [], "docker CLI, DOCKER_HOST=ssh://": []}
            for _ in range(args.runs):
                times["streamed over kamalnb's SSH"].append(streamed(sandbox, ssh, host, args.no_cache))
                times["docker CLI, DOCKER_HOST=ssh://"].append(
                    docker_over_ssh(sandbox, host, args.no_cache, Path(wrapper_dir)))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:32} median {medians[name]:.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    streamed_median, cli_median = medians.values()
    print(f"ratio (docker CLI / streamed): {cli_median / streamed_median:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
