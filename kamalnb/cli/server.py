"""`kamalnb server exec CMD` and `kamalnb app exec CMD`: a command on the selected hosts
(or in the app's image there), output under each host's name."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kamalnb.cli.config_cmds import load_from_args
from kamalnb.commands.base import run_over_ssh
from kamalnb.errors import ConfigError
from kamalnb.results import Outputs


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

    app = add_command(None, "app", None, "Run commands in the app's containers (kamal app)")
    app_group = app.add_subparsers(dest="app_command", metavar="<app command>")
    app_exec = add_command(app_group, "exec", app_exec_command,
                           "Run a command in a new container of the app's image on every host "
                           "(or --reuse the running one)")
    app_exec.add_argument("--reuse", action="store_true", help="run it in the running container (docker exec)")
    app_exec.add_argument("-e", "--env", action="append", metavar="KEY:VALUE", help="an environment variable")
    app_exec.add_argument("--raw", action="store_true", help="print each host's stdout unmodified, without headers")
    app_exec.add_argument("cmd", nargs="+", metavar="CMD")
    maintenance = add_command(app_group, "maintenance", maintenance_command,
                              "Answer 503 with a maintenance page at the proxy (the app keeps running)")
    maintenance.add_argument("--message", help="the message shown on the maintenance page")
    add_command(app_group, "live", live_command, "Serve the app again after `app maintenance`")


def maintenance_command(args: argparse.Namespace) -> int:
    report = load_from_args(args).app.maintenance(args.message, ui="text" if args.verbose else "quiet")
    if not args.quiet:
        print(report)
    return 0


def live_command(args: argparse.Namespace) -> int:
    report = load_from_args(args).app.live(ui="text" if args.verbose else "quiet")
    if not args.quiet:
        print(report)
    return 0


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


def app_exec_command(args: argparse.Namespace) -> int:
    app = load_from_args(args)
    line = " ".join(args.cmd)
    env = dict(pair.split(":", 1) if ":" in pair else (pair, "") for pair in args.env or [])
    if not args.raw and not args.quiet:
        where = "the running containers" if args.reuse else f"new containers of version {app.config.version}"
        print(f"Running '{line}' in {where}...", flush=True)
    return print_outputs(args, app.app.exec(line, reuse=args.reuse, env=env, ui="text" if args.verbose else "silent"))


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
    host = config.specifics.primary_host
    ssh_line = run_over_ssh(config.ssh, host, line).render()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(f"--interactive needs a terminal; in one, run: {ssh_line}")
    print(f"Running '{line}' on {host} interactively...", flush=True)
    os.execvp("sh", ["sh", "-c", ssh_line])
