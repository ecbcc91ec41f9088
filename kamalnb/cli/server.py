"""`kamalnb server exec CMD`: a command on the selected hosts, output under each host's name."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kamalnb.cli.config_cmds import load_from_args, print_result
from kamalnb.errors import ConfigError
from kamalnb.results import Outputs


def register(subparsers: Any, add_command: Any) -> None:
    server = add_command(None, "server", None, "Bootstrap servers with curl and Docker")
    group = server.add_subparsers(dest="server_command", metavar="<server command>")
    bootstrap = add_command(group, "bootstrap", bootstrap_command, "Set up Docker to run Kamal apps")
    bootstrap.add_argument("--plan", action="store_true",
                           help="print the exact commands per host and phase; run nothing, connect nowhere")
    exec_ = add_command(group, "exec", exec_command,
                        "Run a custom command on the server (use --help to show options)")
    exec_.add_argument("-i", "--interactive", action="store_true",
                       help="Run the command interactively (use for console/bash)")
    exec_.add_argument("--raw", action="store_true", help="print each host's stdout unmodified, without headers")
    exec_.add_argument("cmd", nargs="+", metavar="CMD",
                       help="the command; quote it or put `--` before it when it has options")


def bootstrap_command(args: argparse.Namespace) -> int:
    return print_result(args, load_from_args(args).server.bootstrap(plan=args.plan))


def exec_command(args: argparse.Namespace) -> int:
    if args.raw and args.interactive:
        raise ConfigError("--raw is not compatible with --interactive")
    app = load_from_args(args)
    line = " ".join(args.cmd)
    if args.interactive:
        return _interactive(app.config, line)
    if not args.raw and not args.quiet:
        print(f"Running '{line}' on {', '.join(app.config.specifics.hosts)}...", flush=True)
    return print_outputs(args, app.server.exec(line, ui="text" if args.verbose else "silent"))


def print_outputs(args: argparse.Namespace, outputs: Outputs) -> int:
    """Kamal's layout: each host's output under `App Host: <host>`; errors on stderr."""
    for host, text in outputs.outputs.items():
        if args.raw:
            sys.stdout.write(text)
        else:
            if not args.quiet:
                print(f"App Host: {host}")
            print(f"{text.strip()}\n")
    sys.stdout.flush()
    for host, error in outputs.errors.items():
        print(f"ERROR: {host}: {error}", file=sys.stderr)
    return 1 if outputs.errors else 0


def _interactive(config: Any, line: str) -> int:
    from kamalnb.commands.base import run_over_ssh

    host = config.specifics.primary_host
    ssh_line = run_over_ssh(config.ssh, host, line).render()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(f"--interactive needs a terminal; in one, run: {ssh_line}")
    print(f"Running '{line}' on {host} interactively...", flush=True)
    os.execvp("sh", ["sh", "-c", ssh_line])
