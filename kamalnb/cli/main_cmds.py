"""Kamal's top-level `details`, `remove`, `prune`, `docs` and `upgrade` (`version` is in config_cmds)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kamalnb.cli.config_cmds import load_from_args, print_listing, print_result
from kamalnb.errors import ConfigError


def register(subparsers: Any, add_command: Any) -> None:
    plan_help = "print the exact commands per host and phase; run nothing, connect nowhere"
    details = add_command(None, "details", details_command, "Show details about all containers")
    details.add_argument("--plan", action="store_true", help=plan_help)

    remove = add_command(None, "remove", remove_command,
                         "Remove kamal-proxy, app, accessories, and registry session from servers")
    remove.add_argument("-y", "--confirmed", action="store_true", help="Proceed without confirmation question")
    remove.add_argument("--plan", action="store_true", help=plan_help)

    prune = add_command(None, "prune", None, "Prune old application images and containers")
    group = prune.add_subparsers(dest="prune_command", metavar="<prune command>")
    for scope, text in (("all", "Prune unused images and stopped containers"),
                        ("containers", "Prune all stopped containers, except the last n (default 5)"),
                        ("images", "Prune unused images")):
        parser = add_command(group, scope, prune_command, text)
        parser.add_argument("--plan", action="store_true", help=plan_help)
        if scope == "containers":
            parser.add_argument("--retain", type=int, metavar="N", help="Number of containers to retain")

    registry = add_command(None, "registry", None, "Login and -out of the image registry")
    verbs = registry.add_subparsers(dest="registry_command", metavar="<registry command>")
    for verb, text in (("setup", "Setup local registry or log in to remote registry locally and remotely"),
                       ("remove", "Remove local registry or log out of remote registry locally and remotely"),
                       ("login", "Log in to remote registry locally and remotely"),
                       ("logout", "Log out of remote registry locally and remotely")):
        parser = add_command(verbs, verb, registry_command, text)
        parser.add_argument("-L", "--skip-local", "--skip_local", dest="skip_local", action="store_true",
                            help="Skip local login")
        parser.add_argument("-R", "--skip-remote", "--skip_remote", dest="skip_remote", action="store_true",
                            help="Skip remote login")
        parser.add_argument("--plan", action="store_true", help=plan_help)

    docs = add_command(None, "docs", docs_command, "Show Kamal configuration documentation")
    docs.add_argument("section", nargs="?", metavar="SECTION")
    add_command(None, "upgrade", lambda a: _say(_upgrade()), "Upgrade from Kamal 1.x to 2.0")


def _say(text: str) -> int:
    print(text)
    return 0


def _upgrade() -> str:
    from kamalnb.docs_text import UPGRADE

    return UPGRADE


def details_command(args: argparse.Namespace) -> int:
    return print_listing(args, load_from_args(args).details_listing(plan=args.plan))


def remove_command(args: argparse.Namespace) -> int:
    app = load_from_args(args)
    if not (args.confirmed or args.plan):
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise ConfigError("remove asks for confirmation on a terminal: pass -y to proceed without it")
        answer = input("This will remove all containers and images. Are you sure? [y, N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 0
    return print_result(args, app.remove(confirm=True, plan=args.plan))


def prune_command(args: argparse.Namespace) -> int:
    app = load_from_args(args)
    return print_result(args, app.prune(args.prune_command, retain=getattr(args, "retain", None), plan=args.plan))


def docs_command(args: argparse.Namespace) -> int:
    from kamalnb.docs_text import docs

    return _say(docs(args.section))


def registry_command(args: argparse.Namespace) -> int:
    app = load_from_args(args)
    verb = getattr(app.registry, args.registry_command)
    return print_result(args, verb(skip_local=args.skip_local, skip_remote=args.skip_remote, plan=args.plan))
