"""`kamalnb <verb>`: Kamal's command line, a thin layer over the Python API.

Global options are accepted before and after the verb, as Kamal's are. `-h` selects
hosts (as in Kamal), so help is `--help` only.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from kamalnb.errors import KamalnbError

# Each module has register(subparsers, add_command) and owns its verbs.
COMMAND_MODULES = (
    "kamalnb.cli.sandbox",
    "kamalnb.cli.config_cmds",
    "kamalnb.cli.server",
    "kamalnb.cli.app_cmds",
    "kamalnb.cli.main_cmds",
    "kamalnb.cli.deploy_cmds",
    "kamalnb.cli.build_cmds",
    "kamalnb.cli.accessory",
)


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument("--help", action="help", help="show this help and exit")
    group.add_argument("-c", "--config-file", dest="config_file", default=default("config/deploy.yml"),
                       help="Path to config file (default: config/deploy.yml)")
    group.add_argument("-d", "--destination", default=default(None),
                       help="Specify destination to be used for config file (staging -> deploy.staging.yml)")
    group.add_argument("-h", "--hosts", default=default(None),
                       help="Run commands on these hosts instead of all (separate by comma, supports wildcards with *)")
    group.add_argument("-r", "--roles", default=default(None),
                       help="Run commands on these roles instead of all (separate by comma, supports wildcards with *)")
    group.add_argument("-p", "--primary", action="store_true", default=default(False),
                       help="Run commands only on primary host instead of all")
    group.add_argument("-v", "--verbose", action="store_true", default=default(False),
                       help="Detailed logging")
    group.add_argument("-q", "--quiet", action="store_true", default=default(False),
                       help="Minimal logging")
    group.add_argument("--version", default=default(None),
                       help="Run commands against a specific app version")
    group.add_argument("-H", "--skip-hooks", dest="skip_hooks", action="store_true", default=default(False),
                       help="Don't run hooks")


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


class _Parser(argparse.ArgumentParser):
    """Kamal's words for an unknown command: `Could not find command "x".` and the closest."""

    def error(self, message: str) -> NoReturn:
        choice = re.match(r"argument .*: invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            names = re.findall(r"'([^']*)'", choice[2])
            print(not_found(choice[1], names), file=sys.stderr)
            self.exit(1)
        super().error(message)


def not_found(name: str, names: Sequence[str]) -> str:
    """`Could not find command "x".` with Thor's `Did you mean?` line when one is close."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f'Could not find command "{name}".' + (f'\nDid you mean?  "{close[0]}"' if close else "")


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _Parser(
        prog="kamalnb",
        description="Deploy containers to your own servers, the Kamal way.",
        add_help=False,
    )
    _global_options(parser, suppress=False)
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="<command>")
    add_command = _Commands(subparsers)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers, add_command)
    return parser


# Global options that take a value: their value is not the command's name.
_VALUED = {"-c", "--config-file", "-d", "--destination", "-h", "--hosts", "-r", "--roles", "--version"}


def _command_word(argv: Sequence[str]) -> int | None:
    """The index of the first word that is neither an option nor an option's value."""
    skip = False
    for index, word in enumerate(argv):
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _VALUED
        else:
            return index
    return None


def _option(argv: Sequence[str], short: str, long: str) -> str | None:
    for index, word in enumerate(argv):
        if word in (short, long) and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith(long + "="):
            return word.split("=", 1)[1]
    return None


def aliases(argv: Sequence[str]) -> dict[str, str]:
    """`aliases:` of the deploy.yml (and destination file) the options name; none when
    there is no such file."""
    import os
    from pathlib import Path

    from kamalnb.config.loader import load_raw_config

    config_file = Path(_option(argv, "-c", "--config-file") or "config/deploy.yml")
    if not config_file.exists():
        return {}
    raw = load_raw_config(config_file, _option(argv, "-d", "--destination"), os.environ, Path.cwd())
    return {str(name): str(command) for name, command in (raw.get("aliases") or {}).items()}


def expand_alias(argv: list[str], commands: Sequence[str]) -> list[str]:
    """`kamalnb <alias> args…` as the aliased command line with the args appended, as
    Kamal does; an unknown word is Kamal's `Could not find command`."""
    index = _command_word(argv)
    if index is None or argv[index] in commands:
        return argv
    name = argv[index]
    found = aliases(argv)
    if name not in found:
        raise _NotFound(not_found(name, [*commands, *found]))
    return [*argv[:index], *shlex.split(found[name]), *argv[index + 1:]]


class _NotFound(Exception):
    pass


def _leaf(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, argparse.ArgumentParser]:
    """The command's words and the parser of the verb that was parsed."""
    words = ["kamalnb"]
    while parser._subparsers is not None:
        action = next(a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction))
        name = getattr(args, action.dest, None)
        if name is None:
            break
        words.append(name)
        parser = action.choices[name]
    return " ".join(words), parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    commands = next((list(a.choices) for a in parser._actions if isinstance(a, argparse._SubParsersAction)), [])
    try:
        words = expand_alias(words, commands)
        try:
            args, extras = parser.parse_known_args(words)
        except SystemExit as exit_:
            # --help, or a word argparse refused (already printed).
            return exit_.code if isinstance(exit_.code, int) else 1
        if extras:
            command, leaf = _leaf(parser, args)
            options = [o for action in leaf._actions for o in action.option_strings]
            unknown = next((w for w in extras if w.startswith("-")), extras[0])
            close = difflib.get_close_matches(unknown.split("=", 1)[0], options, n=1, cutoff=0.6)
            print(f'ERROR: "{command}" was called with arguments {json.dumps(extras)}'
                  + (f'\nDid you mean?  "{close[0]}"' if close else ""), file=sys.stderr)
            return 1
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 0 if args.command is None else 2
        return func(args) or 0
    except _NotFound as missing:
        print(missing, file=sys.stderr)
        return 1
    except KamalnbError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
