"""`kamal secrets fetch|extract`, callable in-process from a secrets file's `$(...)`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from kamalnb.config.ruby import shellescape
from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters import lookup


def fetch(secrets: Sequence[str], adapter: str, account: str | None = None, from_: str | None = None) -> dict[str, str]:
    """Fetch `secrets` with a vault adapter; returns name -> value (names as the adapter reports them)."""
    vault = lookup(adapter)
    if vault.requires_account and not account:
        raise ConfigError(
            f"No value provided for required options '--account' (the {adapter} adapter needs the account or user name)"
        )
    return vault.fetch(list(secrets), account=account, from_=from_)


def extract(name: str, secrets_json: str) -> str:
    """The value for `name`, or for the first key ending in `/name`, from `fetch`'s JSON."""
    try:
        parsed = json.loads(secrets_json)
    except json.JSONDecodeError as error:
        raise ConfigError(f"secrets extract: the secrets argument is not JSON ({error.msg})") from None
    if not isinstance(parsed, dict):
        raise ConfigError("secrets extract: the secrets argument should be a JSON object")
    value = parsed.get(name)
    if value is None:
        value = next((v for k, v in parsed.items() if k.endswith(f"/{name}")), None)
    if value is None:
        raise ConfigError(f"Could not find secret {name}")
    return value if isinstance(value, str) else json.dumps(value)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"kamal secrets: {message}")


def run_inline(argv: Sequence[str]) -> str:
    """Run `secrets fetch ...` / `secrets extract ...` (argv without the program name).

    The result is what Kamal's `--inline` returns: fetch gives shell-escaped JSON so that a
    later `$(kamal secrets extract NAME $SECRETS)` receives it as one word.
    """
    parser = _Parser(prog="kamal", add_help=False)
    commands = parser.add_subparsers(dest="group")
    group = commands.add_parser("secrets", add_help=False).add_subparsers(dest="command")
    fetch_parser = group.add_parser("fetch", add_help=False)
    fetch_parser.add_argument("secrets", nargs="*")
    fetch_parser.add_argument("-a", "--adapter", required=True)
    fetch_parser.add_argument("--account")
    fetch_parser.add_argument("--from", dest="from_")
    fetch_parser.add_argument("--inline", action="store_true")
    extract_parser = group.add_parser("extract", add_help=False)
    extract_parser.add_argument("name")
    extract_parser.add_argument("secrets")
    extract_parser.add_argument("--inline", action="store_true")
    args = parser.parse_args([arg.replace("_", "-") if arg.startswith("--") else arg for arg in argv])
    if args.command == "fetch":
        results = fetch(args.secrets, args.adapter, args.account, args.from_)
        return shellescape(json.dumps(results, separators=(",", ":"), ensure_ascii=False))
    if args.command == "extract":
        return extract(args.name, args.secrets)
    raise ConfigError(f"kamal secrets: unsupported in a secrets file: {' '.join(argv)}")
