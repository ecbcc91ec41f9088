"""`kamalnb server exec CMD`: a command on the selected hosts, output under each host's name."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import datetime, timezone
from typing import Any

from kamalnb.cli.config_cmds import load_from_args
from kamalnb.commands.auditor import Auditor
from kamalnb.commands.base import Command, run_over_ssh
from kamalnb.errors import ConfigError, HostError
from kamalnb.events import Events
from kamalnb.executors.ssh import SshExecutor
from kamalnb.results import Result
from kamalnb.ui.text import TextListener


def register(subparsers: Any, add_command: Any) -> None:
    server = add_command(None, "server", None, "Run commands on the servers (kamal server)")
    group = server.add_subparsers(dest="server_command", metavar="<server command>")
    exec_ = add_command(group, "exec", exec_command,
                        "Run a custom command on the servers, in parallel; output is shown per host")
    exec_.add_argument("-i", "--interactive", action="store_true",
                       help="run the command on the primary host over `ssh -t` (needs a terminal)")
    exec_.add_argument("--raw", action="store_true", help="print each host's stdout unmodified, without headers")
    exec_.add_argument("cmd", nargs="+", metavar="CMD",
                       help="the command; quote it or put `--` before it when it has options")


def performer(config: Any) -> str:
    """Who appears in the audit log, as in Kamal: git's user.email, else the login name."""
    return config.git.email or getpass.getuser()


def exec_command(args: argparse.Namespace) -> int:
    if args.raw and args.interactive:
        raise ConfigError("--raw is not compatible with --interactive")
    config = load_from_args(args).config
    line = " ".join(args.cmd)
    if args.interactive:
        return _interactive(config, line)

    hosts = config.specifics.hosts
    auditor = Auditor(config, recorded_at=datetime.now(timezone.utc), performer=performer(config))
    audits = {host: auditor.record(f"Executed cmd '{line}' on {host}") for host in hosts}
    events = Events(TextListener(sys.stderr, verbose=True)) if args.verbose else Events()
    command = Command((line,))
    if not args.raw and not args.quiet:
        print(f"Running '{line}' on {', '.join(hosts)}...", flush=True)

    def on_host(host: str) -> Result:
        ssh.run(host, audits[host])
        return ssh.run(host, command)

    with SshExecutor.from_config(config, events=events) as ssh:
        results = ssh.each(hosts, on_host)

    failed: list[HostError] = []
    for host in hosts:
        value = results[host]
        if isinstance(value, HostError):
            failed.append(value)
        elif args.raw:
            sys.stdout.write(value.stdout)
        else:
            if not args.quiet:
                print(f"App Host: {host}")
            print(f"{value.stdout.strip()}\n")
    sys.stdout.flush()
    for error in failed:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1 if failed else 0


def _interactive(config: Any, line: str) -> int:
    host = config.specifics.primary_host
    ssh_line = run_over_ssh(config.ssh, host, line).render()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(f"--interactive needs a terminal; in one, run: {ssh_line}")
    print(f"Running '{line}' on {host} interactively...", flush=True)
    os.execvp("sh", ["sh", "-c", ssh_line])
