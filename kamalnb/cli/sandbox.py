"""`kamalnb sandbox up|status|down`: the local lab fleet."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kamalnb.sandbox import DEFAULT_NAME

if TYPE_CHECKING:
    from kamalnb.sandbox import Sandbox


def register(subparsers, add_command) -> None:
    group = subparsers.add_parser("sandbox", help="a local lab fleet of real hosts", add_help=False)
    group.add_argument("--help", action="help")
    verbs = group.add_subparsers(dest="sandbox_command", metavar="<up|status|down>", required=True)

    # The sandbox is not an app: none of the global options apply, and `--hosts` is a count.
    def verb(name: str, func, help: str) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, help=help, description=help, add_help=False)
        parser.add_argument("--help", action="help")
        parser.set_defaults(func=func)
        return parser

    up = verb("up", _up, "start the sandbox fleet (idempotent)")
    up.add_argument("--hosts", dest="host_count", type=int, default=3, help="number of hosts (default 3)")
    up.add_argument("--subnet", help="IPv4 network for the bridge (default 10.231.x.0/24)")
    status = verb("status", _status, "one row per host, and the sample app's directory")
    down = verb("down", _down, "stop the sandbox and remove all it created")
    demo = verb("demo", _demo, "run the runbook notebooks against the sandbox, save them as HTML, show the fleet")
    down.add_argument("--purge", action="store_true",
                      help="also delete its files: keys, the sample app's repository, images")
    for parser in (up, status, down, demo):
        parser.add_argument("--name", default=DEFAULT_NAME, help="sandbox name (default: default)")


def _up(args: argparse.Namespace) -> int:
    from kamalnb.sandbox import Sandbox

    sandbox = Sandbox(args.name, hosts=args.host_count, subnet=args.subnet)
    print(f"Starting sandbox {args.name!r} with {args.host_count} hosts ...", flush=True)
    sandbox.up()
    return _print_status(sandbox)


def _status(args: argparse.Namespace) -> int:
    from kamalnb.sandbox import Sandbox

    return _print_status(Sandbox.find(args.name))


def _demo(args: argparse.Namespace) -> int:
    from kamalnb.sandbox import Sandbox, demo

    sandbox = Sandbox.find(args.name)
    runs = demo.run(sandbox)
    print(f"\n{demo.summary(runs)}")
    if any(run.error for run in runs):
        return 1
    print(f"\nThe fleet as the runbooks left it:\n{demo.fleet(sandbox)}")
    print(f"\nOpen the saved runs in a browser ({runs[0].html.parent}/*.html), or the runbooks themselves:\n"
          f"  jupyter lab --allow-root --ip 127.0.0.1 {runs[0].html.parent}")
    return 0


def _down(args: argparse.Namespace) -> int:
    from kamalnb.sandbox import Sandbox

    Sandbox(args.name).down(purge=args.purge)
    print(f"Sandbox {args.name!r} is down.")
    return 0


def _print_status(sandbox: Sandbox) -> int:
    rows = sandbox.status()
    header = f"{'host':<6} {'address':<15} {'ssh':<4} {'docker':<16} containers"
    print(header)
    for row in rows:
        print(f"{row['host']:<6} {row['address']:<15} {'yes' if row['ssh'] else 'NO':<4} "
              f"{row['docker'] or '-':<16} {'-' if row['containers'] is None else row['containers']}")
    print(f"registry:   {sandbox.registry}")
    print(f"laptop:     DOCKER_HOST={sandbox.laptop_docker_host}")
    print(f"ssh config: {sandbox.ssh_config}")
    print(f"sample app: {sandbox.app_dir}")
    print(f"deploy.yml: {sandbox.app_dir / 'config' / 'deploy.yml'}")
    return 0 if all(row["ssh"] for row in rows) else 1
