"""`kamalnb config`, `init`, `secrets fetch|extract|print` and `version`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kamalnb
from kamalnb.errors import ConfigError

if TYPE_CHECKING:
    from kamalnb.app import App


def print_result(args: argparse.Namespace, value: Any) -> int:
    """Print what a verb returned, unless -q; a plan is what was asked for, printed even with -q.
    A report's summary line was the progress display's last line: only its table follows."""
    from kamalnb.results import Report
    from kamalnb.steps.plan import Plan

    if isinstance(value, Report) and not args.quiet:
        print(value.table())
    elif not args.quiet or isinstance(value, Plan):
        print(value)
    return 0


def confirmed(args: argparse.Namespace, question: str) -> bool:
    """`-y` given, or the answer to Kamal's question on a terminal; with no terminal to ask,
    an error that says to pass -y."""
    if args.confirmed:
        return True
    if not sys.stdin.isatty():
        raise ConfigError(f"{question} Not on a terminal to ask: pass -y to go ahead")
    return input(f"{question} [y, N] ").strip().lower() in ("y", "yes")


def print_listing(args: argparse.Namespace, result: Any) -> int:
    """Kamal's per-host blocks of a listing verb (or its plan); errors on stderr, exit 1 then."""
    from kamalnb.listing import Listing

    if not isinstance(result, Listing):
        return print_result(args, result)
    text = result.text(quiet=args.quiet)
    if text:
        print(text)
    for host, error in result.errors.items():
        print(f"ERROR: {host}: {error}", file=sys.stderr)
    return 0 if result.ok else 1


def load_from_args(args: argparse.Namespace) -> App:
    """The App the global options describe; warnings go to stderr."""
    import warnings

    from kamalnb.app import load as load_app

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        app = load_app(
            args.config_file, args.destination, version=args.version, hosts=args.hosts, roles=args.roles,
            primary=args.primary, verbose=args.verbose, quiet=args.quiet, skip_hooks=args.skip_hooks,
            root=Path.cwd(),
        )
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"WARNING: {warning.message}", file=sys.stderr)
    return app


def config_command(args: argparse.Namespace) -> int:
    from kamalnb.config.printer import dump

    app = load_from_args(args)
    sys.stdout.write(dump(app.config))
    return 0


def init_command(args: argparse.Namespace) -> int:
    from kamalnb.templates import init_project

    for line in init_project("."):
        print(line)
    return 0


def version_command(args: argparse.Namespace) -> int:
    print(kamalnb.__version__)
    return 0


def secrets_fetch_command(args: argparse.Namespace) -> int:
    from kamalnb.secrets.commands import fetch

    print(json.dumps(fetch(args.secrets, adapter=args.adapter, account=args.account, from_=args.from_),
                     separators=(",", ":"), ensure_ascii=False))
    return 0


def secrets_extract_command(args: argparse.Namespace) -> int:
    from kamalnb.secrets.commands import extract

    print(extract(args.name, args.secrets))
    return 0


def secrets_print_command(args: argparse.Namespace) -> int:
    app = load_from_args(args)
    for key, value in app.config.secrets.to_dict().items():
        print(f"{key}={value.reveal() if args.reveal else value}")
    return 0


AddCommand = Callable[..., argparse.ArgumentParser]


def register(subparsers: Any, add_command: AddCommand) -> None:
    add_command(None, "config", config_command, "Show the combined configuration, as `kamal config` does")
    add_command(None, "init", init_command,
                "Create config/deploy.yml, .kamal/secrets and sample hooks (existing files are kept)")
    add_command(None, "version", version_command, "Show the kamalnb version")

    secrets = add_command(None, "secrets", None, "Fetch and print secrets (kamal secrets)")
    group = secrets.add_subparsers(dest="secrets_command", metavar="<secrets command>")

    fetch = add_command(group, "fetch", secrets_fetch_command, "Fetch secrets from a vault; prints a JSON object")
    fetch.add_argument("secrets", nargs="*", help="secret names (adapter specific, e.g. item/field)")
    fetch.add_argument("-a", "--adapter", required=True, help="vault adapter: 1password, bitwarden, bitwarden-sm, "
                       "lastpass, aws_secrets_manager, gcp, doppler, passbolt, enpass")
    fetch.add_argument("--account", help="account identifier or user name (for adapters that need one)")
    fetch.add_argument("--from", dest="from_", metavar="FROM", help="vault, folder or project to fetch from")

    extract = add_command(group, "extract", secrets_extract_command,
                          "Print one secret from the JSON of `secrets fetch`")
    extract.add_argument("name", help="secret name (or the last part of ITEM/NAME)")
    extract.add_argument("secrets", help="the JSON printed by `secrets fetch`")

    show = add_command(group, "print", secrets_print_command,
                       "List the secrets of .kamal/secrets* (values redacted unless --reveal)")
    show.add_argument("--reveal", action="store_true", help="print the real values (debugging only)")

