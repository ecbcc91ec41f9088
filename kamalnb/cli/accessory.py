"""`kamalnb accessory boot|reboot|start|stop|restart|details|exec|logs|remove|upgrade NAME`:
Kamal's accessory verbs, each a thin call to what a notebook calls (`app.accessory(name)`,
or `app.accessories` for `all`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from kamalnb.cli.config_cmds import confirmed, load_from_args, print_result
from kamalnb.cli.server import print_outputs
from kamalnb.errors import ConfigError

if TYPE_CHECKING:
    from kamalnb.verbs import AccessoryVerbs

ALL = "all"


def register(subparsers: Any, add_command: Any) -> None:
    accessory = subparsers.add_parser("accessory", help="Manage accessories (db, redis, search...) (kamal accessory)",
                                      description="Manage accessories: the services beside the app",
                                      add_help=False)
    accessory.add_argument("--help", action="help")
    group = accessory.add_subparsers(dest="accessory_command", metavar="<command>", required=True)

    def verb(name: str, help: str, func: Any, *, all_allowed: bool = True, plan: bool = False
             ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = add_command(group, name, func, help)
        parser.add_argument("name", metavar="NAME|all" if all_allowed else "NAME",
                            help="the accessory" + (" (`all`: every one)" if all_allowed else ""))
        if plan:
            parser.add_argument("--plan", action="store_true",
                                help="print the exact commands per host and phase; run nothing, connect nowhere")
        return parser

    verb("boot", "Boot new accessory service on host (use NAME=all to boot all accessories)",
         lambda a: _report(a, lambda v: v.boot(plan=a.plan)), plan=True)
    verb("reboot", "Reboot existing accessory on host (stop container, remove container, start new container)",
         lambda a: _report(a, lambda v: v.reboot(plan=a.plan)), plan=True)
    verb("start", "Start existing accessory container on host",
         lambda a: _report(a, lambda v: v.start(plan=a.plan)), plan=True)
    verb("stop", "Stop existing accessory container on host",
         lambda a: _report(a, lambda v: v.stop(plan=a.plan)), plan=True)
    verb("restart", "Restart existing accessory container on host",
         lambda a: _report(a, lambda v: v.restart(plan=a.plan)), plan=True)
    verb("details", "Show details about accessory on host (use NAME=all to show all accessories)", _details)

    exec_ = verb("exec", "Execute a custom command on servers within the accessory container "
                 "(use --help to show options)", _exec, all_allowed=False)
    exec_.add_argument("-i", "--interactive", action="store_true",
                       help="execute command over ssh for an interactive shell (use for console/bash)")
    exec_.add_argument("--reuse", action="store_true",
                       help="reuse currently running container instead of starting a new one")
    exec_.add_argument("--raw", action="store_true", help="print each host's stdout unmodified, without headers")
    exec_.add_argument("cmd", nargs="+", metavar="CMD")

    logs = verb("logs", "Show log lines from accessory on host (use --help to show options)", _logs,
                all_allowed=False)
    logs.add_argument("-s", "--since", help="show lines since timestamp (e.g. 2013-01-02T13:23:37Z) "
                      "or relative (e.g. 42m for 42 minutes)")
    logs.add_argument("-n", "--lines", type=int, help="number of log lines to pull from each server")
    logs.add_argument("-g", "--grep", help="show lines with grep match only")
    logs.add_argument("--grep-options", "--grep_options", dest="grep_options",
                      help="additional options supplied to grep")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="follow logs on the accessory's first host (needs a terminal)")
    logs.add_argument("-T", "--skip-timestamps", "--skip_timestamps", dest="skip_timestamps", action="store_true",
                      help="skip appending timestamps to logging output")

    remove = verb("remove", "Remove accessory container, image and data directory from host "
                  "(use NAME=all to remove all accessories)", _remove)
    remove.add_argument("-y", "--confirmed", action="store_true", help="proceed without confirmation question")
    remove.add_argument("--volumes", action="store_true",
                        help="also remove the accessory's named docker volumes (its data)")

    upgrade = verb("upgrade", "Upgrade accessories from Kamal 1.x to 2.0 (restart them in 'kamal' network)", _upgrade)
    upgrade.add_argument("-y", "--confirmed", action="store_true", help="proceed without confirmation question")
    upgrade.add_argument("--rolling", action="store_true", help="upgrade one host at a time")


def _verbs(args: argparse.Namespace) -> AccessoryVerbs:
    app = load_from_args(args)
    return app.accessories if args.name == ALL else app.accessory(args.name)


def _report(args: argparse.Namespace, call: Any, verbs: AccessoryVerbs | None = None) -> int:
    return print_result(args, call(verbs or _verbs(args)))


def _details(args: argparse.Namespace) -> int:
    print(_verbs(args).details_table(ui="text" if args.verbose else "silent"))
    return 0


def _exec(args: argparse.Namespace) -> int:
    if args.raw and args.interactive:
        raise ConfigError("--raw is not compatible with --interactive")
    verbs = _verbs(args)
    line = " ".join(args.cmd)
    if args.interactive:
        from kamalnb.commands import Accessory as AccessoryCommands

        commands = AccessoryCommands(verbs.config, args.name)
        if args.reuse:
            ssh_line = commands.execute_in_existing_container_over_ssh(line).render()
        else:
            ssh_line = commands.execute_in_new_container_over_ssh(line).render()
            if sys.stdin.isatty() and sys.stdout.isatty():
                verbs.login_for_interactive_exec()
        where = "from existing" if args.reuse else "in a new"
        return _exec_locally(ssh_line, f"Launching interactive command via SSH {where} container...")
    if not args.raw and not args.quiet:
        where = "existing container" if args.reuse else "new container"
        print(f"Launching command from {where}...", flush=True)
    return print_outputs(args, verbs.exec(line, reuse=args.reuse, ui="text" if args.verbose else "silent"))


def _logs(args: argparse.Namespace) -> int:
    verbs = _verbs(args)
    if args.follow:
        from kamalnb.commands import Accessory as AccessoryCommands

        commands = AccessoryCommands(verbs.config, args.name)
        line = commands.follow_logs(timestamps=not args.skip_timestamps, grep=args.grep,
                                    grep_options=args.grep_options, lines=args.lines, since=args.since).render()
        return _exec_locally(line, f"Following logs on {commands.accessory.hosts[0]}...")
    outputs = verbs.logs(lines=args.lines, since=args.since, grep=args.grep, grep_options=args.grep_options,
                         timestamps=not args.skip_timestamps, ui="text" if args.verbose else "silent")
    for text in outputs.outputs.values():
        print(text.rstrip("\n"))
    for host, error in outputs.errors.items():
        print(f"ERROR: {host}: {error}", file=sys.stderr)
    return 1 if outputs.errors else 0


def _remove(args: argparse.Namespace) -> int:
    verbs = _verbs(args)
    if not confirmed(args, f"This will remove all containers, images and data directories for {args.name}. "
                            "Are you sure?"):
        return 0
    return _report(args, lambda v: v.remove(confirm=True, volumes=args.volumes), verbs)


def _upgrade(args: argparse.Namespace) -> int:
    verbs = _verbs(args)
    if not confirmed(args, "This will restart all accessories. Are you sure?"):
        return 0
    return _report(args, lambda v: v.upgrade(confirm=True, rolling=args.rolling), verbs)


def _exec_locally(line: str, message: str) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(f"this needs a terminal; in one, run: {line}")
    print(message, flush=True)
    os.execvp("sh", ["sh", "-c", line])
