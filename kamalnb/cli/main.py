"""`kamalnb <verb>`: Kamal's command line, a thin layer over the Python API.

Global options are accepted before and after the verb, as Kamal's are. `-h` selects
hosts (as in Kamal), so help is `--help` only.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kamalnb.errors import KamalnbError

# Each module has register(subparsers, add_command) and owns its verbs.
COMMAND_MODULES = (
    "kamalnb.cli.sandbox",
    "kamalnb.cli.config_cmds",
    "kamalnb.cli.server",
    "kamalnb.cli.app_cmds",
    "kamalnb.cli.deploy_cmds",
)


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument("--help", action="help", help="show this help and exit")
    group.add_argument("-c", "--config-file", dest="config_file", default=default("config/deploy.yml"),
                       help="path to the config file (default: config/deploy.yml)")
    group.add_argument("-d", "--destination", default=default(None),
                       help="also load config/deploy.DESTINATION.yml")
    group.add_argument("-h", "--hosts", default=default(None),
                       help="run on these hosts only (comma list, wildcards allowed)")
    group.add_argument("-r", "--roles", default=default(None),
                       help="run on these roles only (comma list, wildcards allowed)")
    group.add_argument("-p", "--primary", action="store_true", default=default(False),
                       help="run on the primary host only")
    group.add_argument("-v", "--verbose", action="store_true", default=default(False),
                       help="detailed output")
    group.add_argument("-q", "--quiet", action="store_true", default=default(False),
                       help="errors only")
    group.add_argument("--version", default=default(None),
                       help="operate on this app version instead of the default")
    group.add_argument("-H", "--skip-hooks", dest="skip_hooks", action="store_true", default=default(False),
                       help="don't run hooks")


class _Commands:
    """Adds leaf commands that all accept the global options."""

    def __init__(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self.subparsers = subparsers

    def __call__(
        self,
        subparsers: argparse._SubParsersAction[argparse.ArgumentParser] | None,
        name: str,
        func: Callable[[argparse.Namespace], int | None] | None,
        help: str,
    ) -> argparse.ArgumentParser:
        parser = (subparsers or self.subparsers).add_parser(name, help=help, description=help, add_help=False)
        _global_options(parser, suppress=True)
        if func is not None:
            parser.set_defaults(func=func)
        return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kamalnb",
        description="Deploy containers to your own servers, the Kamal way.",
        add_help=False,
    )
    _global_options(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    add_command = _Commands(subparsers)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers, add_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return func(args) or 0
    except KamalnbError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
