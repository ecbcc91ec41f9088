"""100 commands on each of 3 sandbox hosts: kamalnb's SSH executor vs one `ssh` process per command.

    python bench/ssh_executor.py [--sandbox NAME] [--commands N]

Hosts run in parallel in both cases and commands run one after another on each host, as a
deploy does. Prints both timings and the ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from kamalnb.commands.base import Command
from kamalnb.errors import KamalnbError
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.fanout import fan_out
from kamalnb.sandbox import Sandbox

COMMAND = ["true"]


def through_executor(sandbox: Sandbox, hosts: list[str], count: int) -> float:
    started = time.perf_counter()
    with SshExecutor(SshSettings(config=str(sandbox.ssh_config))) as ssh:
        outcomes = fan_out(hosts, lambda host: [ssh.run(host, Command.from_argv(COMMAND)) for _ in range(count)])
    if outcomes.errors:
        raise SystemExit(f"executor failed: {outcomes.errors}")
    return time.perf_counter() - started


def one_ssh_per_command(sandbox: Sandbox, hosts: list[str], count: int) -> float:
    def host_loop(host: str) -> None:
        argv = ["ssh", "-F", str(sandbox.ssh_config), f"{sandbox.user}@{host}", *COMMAND]
        for _ in range(count):
            if subprocess.run(argv, stdin=subprocess.DEVNULL).returncode != 0:
                raise SystemExit(f"`{' '.join(argv)}` failed: is the sandbox running?")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(host_loop, hosts))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="default", help="sandbox name (default: default)")
    parser.add_argument("--commands", type=int, default=100, help="commands per host (default: 100)")
    args = parser.parse_args()
    try:
        sandbox = Sandbox.find(args.sandbox)
    except KamalnbError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    hosts = [host.address for host in sandbox.hosts][:3]
    total = args.commands * len(hosts)
    executor = through_executor(sandbox, hosts, args.commands)
    processes = one_ssh_per_command(sandbox, hosts, args.commands)
    print(f"{args.commands} commands x {len(hosts)} hosts ({total} commands)")
    print(f"  kamalnb SshExecutor:         {executor:6.2f} s  ({executor / total * 1000:5.1f} ms per command)")
    print(f"  one ssh process per command: {processes:6.2f} s  ({processes / total * 1000:5.1f} ms per command)")
    print(f"  ratio: the executor is {processes / executor:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
