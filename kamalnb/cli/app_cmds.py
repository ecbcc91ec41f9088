"""`kamalnb app <verb>`: Kamal's `kamal app` commands, each a call of `app.app.<verb>()`.
Listings print Kamal's `App Host: <host>` blocks; the Python calls return their tables."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kamalnb.cli.config_cmds import load_from_args, print_listing
from kamalnb.cli.config_cmds import print_result as _print
from kamalnb.errors import ConfigError
from kamalnb.results import Outputs

APP_HELP = "Manage application"


def register(subparsers: Any, add_command: Any) -> None:
    app = add_command(None, "app", None, APP_HELP)
    group = app.add_subparsers(dest="app_command", metavar="<app command>")

    def plan(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--plan", action="store_true",
                            help="print the exact commands per host and phase; run nothing, connect nowhere")
        return parser

    plan(add_command(group, "boot", lambda a: _report(a, "boot"),
                     "Boot app on servers (or reboot app if already running)"))
    plan(add_command(group, "start", lambda a: _report(a, "start"), "Start existing app container on servers"))
    plan(add_command(group, "stop", lambda a: _report(a, "stop"), "Stop app container on servers"))
    plan(add_command(group, "remove", lambda a: _report(a, "remove"), "Remove app containers and images from servers"))
    plan(add_command(group, "details", lambda a: _listing(a, "details"), "Show details about app containers"))
    plan(add_command(group, "containers", lambda a: _listing(a, "containers"), "Show app containers on servers"))
    plan(add_command(group, "images", lambda a: _listing(a, "images"), "Show app images on servers"))
    plan(add_command(group, "version", lambda a: _listing(a, "version"),
                     "Show app version currently running on servers"))
    stale = plan(add_command(group, "stale_containers", lambda a: _listing(a, "stale_containers", stop=a.stop),
                             "Detect app stale containers"))
    stale.add_argument("-s", "--stop", action="store_true", help="Stop the stale containers found")

    logs = plan(add_command(group, "logs", logs_command,
                            "Show log lines from app on servers (use --help to show options)"))
    logs.add_argument("-s", "--since", help="Show lines since timestamp (e.g. 2013-01-02T13:23:37Z) or relative "
                                            "(e.g. 42m for 42 minutes)")
    logs.add_argument("-n", "--lines", type=int, metavar="N", help="Number of lines to show from each server")
    logs.add_argument("-g", "--grep",
                      help="Show lines with grep match only (use this to fetch specific requests by id)")
    logs.add_argument("--grep-options", "--grep_options", dest="grep_options",
                      help="Additional options supplied to grep")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="Follow log on primary server (or specific host set by --hosts)")
    logs.add_argument("-T", "--skip-timestamps", "--skip_timestamps", dest="skip_timestamps", action="store_true",
                      help="Skip appending timestamps to logging output")
    logs.add_argument("--container-id", "--container_id", dest="container_id",
                      help="Docker container ID to fetch logs")

    exec_ = add_command(group, "exec", exec_command,
                        "Execute a custom command on servers within the app container (use --help to show options)")
    exec_.add_argument("-i", "--interactive", action="store_true",
                       help="Execute command over ssh for an interactive shell (use for console/bash)")
    exec_.add_argument("--reuse", action="store_true",
                       help="Reuse currently running container instead of starting a new one")
    exec_.add_argument("-e", "--env", action="append", metavar="key:value",
                       help="Set environment variables for the command")
    exec_.add_argument("--detach", action="store_true", help="Execute command in a detached container")
    exec_.add_argument("--raw", action="store_true", help="print each host's stdout unmodified, without headers")
    exec_.add_argument("cmd", nargs="*", metavar="CMD")
    plan(exec_)

    maintenance = plan(add_command(group, "maintenance", maintenance_command,
                                   "Set the app to maintenance mode (the proxy answers 503; the app keeps running)"))
    maintenance.add_argument("--message", help="Message to display to clients while stopped")
    plan(add_command(group, "live", lambda a: _report(a, "live"), "Set the app to live mode"))


def maintenance_command(args: argparse.Namespace) -> int:
    return _print(args, load_from_args(args).app.maintenance(args.message, plan=args.plan))


def _report(args: argparse.Namespace, verb: str) -> int:
    app = load_from_args(args)
    return _print(args, getattr(app.app, verb)(plan=args.plan))


def _listing(args: argparse.Namespace, verb: str, **arguments: Any) -> int:
    return print_listing(args, load_from_args(args).app.listing(verb, plan=args.plan, **arguments))


def logs_command(args: argparse.Namespace) -> int:
    options = {"lines": args.lines, "grep": args.grep, "grep_options": args.grep_options,
               "container_id": args.container_id}
    if not args.follow:
        return _listing(args, "logs", since=args.since, timestamps=not args.skip_timestamps, **options)
    app = load_from_args(args)
    if sys.stdin.isatty() and sys.stdout.isatty() and not args.plan:
        from kamalnb.steps import app_ops
        from kamalnb.steps.context import StepContext

        with StepContext(app.config, app.options, command="app", subcommand="logs") as context:
            line = app_ops.follow_command(context, timestamps=not args.skip_timestamps, **options).render()
        host = app.config.specifics.primary_host
        print(f"Following logs on {host}...", flush=True)
        print(line, flush=True)
        os.execvp("sh", ["sh", "-c", line])
    return _print(args, app.app.logs(follow=True, skip_timestamps=args.skip_timestamps, plan=args.plan, **options))


def exec_command(args: argparse.Namespace) -> int:
    from kamalnb.cli.server import print_outputs

    if not args.cmd:
        raise ConfigError("No command given: kamalnb app exec [options] CMD")
    if args.detach and (args.interactive or args.reuse):
        raise ConfigError("Detach is not compatible with --interactive or --reuse")
    if args.raw and (args.interactive or args.detach):
        raise ConfigError("Raw is not compatible with --interactive or --detach")
    app = load_from_args(args)
    line = " ".join(args.cmd)
    env = dict(pair.split(":", 1) if ":" in pair else (pair, "") for pair in args.env or [])
    if args.interactive:
        ssh_line = str(app.app.exec(line, reuse=args.reuse, env=env, interactive=True, plan=args.plan))
        if args.plan or not (sys.stdin.isatty() and sys.stdout.isatty()):
            print(f"--interactive needs a terminal; in one, run:\n{ssh_line}")
            return 0 if args.plan else 1
        host = app.config.specifics.primary_host
        print(f"Launching interactive command with version {app.config.version} via SSH on {host}...", flush=True)
        os.execvp("sh", ["sh", "-c", ssh_line])
    if not args.raw and not args.quiet:
        where = "the running containers" if args.reuse else "new containers"
        print(f"Running '{line}' in {where}...", flush=True)
    result = app.app.exec(line, reuse=args.reuse, env=env, detach=args.detach, plan=args.plan,
                          ui="text" if args.verbose else "silent")
    if args.plan:
        return _print(args, result)
    assert isinstance(result, Outputs)
    return print_outputs(args, result)
