"""`kamalnb setup|deploy|redeploy|rollback|audit`, `lock` and `proxy` verbs:
each a thin call to the same method a notebook uses."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kamalnb.cli.config_cmds import confirmed, load_from_args
from kamalnb.cli.config_cmds import print_result as _print


def _plan_option(*parsers: argparse.ArgumentParser) -> None:
    for parser in parsers:
        parser.add_argument("--plan", action="store_true",
                            help="print the exact commands per host and phase; run nothing, connect nowhere")


def _deploy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-P", "--skip-push", "--skip_push", dest="skip_push", action="store_true",
                        help="Skip image build and push")
    parser.add_argument("--no-cache", "--no_cache", dest="no_cache", action="store_true",
                        help="Build without using Docker's build cache")


def _group(subparsers, name: str, help: str):
    group = subparsers.add_parser(name, help=help, description=help, add_help=False)
    group.add_argument("--help", action="help")
    return group.add_subparsers(dest=f"{name}_command", metavar="<command>", required=True)


def register(subparsers, add_command) -> None:
    setup = add_command(None, "setup", lambda a: _print(a, load_from_args(a).setup(
        skip_push=a.skip_push, no_cache=a.no_cache, plan=a.plan)),
        "Setup all accessories, push the env, and deploy app to servers")
    deploy = add_command(None, "deploy", lambda a: _print(a, load_from_args(a).deploy(
        skip_push=a.skip_push, no_cache=a.no_cache, plan=a.plan)),
        "Deploy app to servers")
    redeploy = add_command(None, "redeploy", lambda a: _print(a, load_from_args(a).redeploy(
        skip_push=a.skip_push, no_cache=a.no_cache, plan=a.plan)),
        "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning")
    for parser in (setup, deploy, redeploy):
        _deploy_options(parser)
    rollback = add_command(None, "rollback", lambda a: _print(a, load_from_args(a).rollback(
        a.target_version, plan=a.plan)), "Rollback app to VERSION")
    rollback.add_argument("target_version", metavar="VERSION")
    _plan_option(setup, deploy, redeploy, rollback)
    add_command(None, "audit", lambda a: _print(a, load_from_args(a).audit().to_string(index=False)),
                "Show audit log from servers")

    lock = _group(subparsers, "lock", "Manage the deploy lock")
    add_command(lock, "status", lambda a: _print(a, load_from_args(a).lock.status().describe()),
                "Report lock status")
    acquire = add_command(lock, "acquire", lambda a: _print(a, load_from_args(a).lock.acquire(a.message).describe()),
                          "Acquire the deploy lock")
    acquire.add_argument("-m", "--message", required=True, help="A lock message")
    release = add_command(lock, "release",
                          lambda a: _print(a, load_from_args(a).lock.release(force=a.force).describe()),
                          "Release the deploy lock")
    release.add_argument("--force", action="store_true", help="release a lock held by someone else")

    proxy = _group(subparsers, "proxy", "the Caddy proxy on the servers")
    _plan_option(
        add_command(proxy, "boot", lambda a: _print(a, load_from_args(a).proxy.boot(plan=a.plan)),
                    "start the proxy where it is not running"),
        reboot := add_command(proxy, "reboot", _proxy_reboot, "replace the proxy container; routes stay"),
        add_command(proxy, "remove", lambda a: _print(a, load_from_args(a).proxy.remove(plan=a.plan)),
                    "remove the proxy container (each app's route is kept for the next boot)"),
        add_command(proxy, "start", lambda a: _print(a, load_from_args(a).proxy.start(plan=a.plan)),
                    "start the stopped proxy container"),
        add_command(proxy, "stop", lambda a: _print(a, load_from_args(a).proxy.stop(plan=a.plan)),
                    "stop the proxy container"),
        add_command(proxy, "restart", lambda a: _print(a, load_from_args(a).proxy.restart(plan=a.plan)),
                    "restart the proxy container; routes stay"),
    )
    reboot.add_argument("--rolling", action="store_true",
                        help="Reboot proxy on hosts in sequence, rather than in parallel")
    reboot.add_argument("-y", "--confirmed", action="store_true", help="Proceed without confirmation question")
    add_command(proxy, "details", lambda a: _print_hosts(a, load_from_args(a).proxy.details()),
                "the proxy container on each host")
    logs = add_command(proxy, "logs", _proxy_logs, "the proxy's last log lines")
    logs.add_argument("-n", "--lines", type=int, help="how many lines (default 100; 10 when following)")
    logs.add_argument("--since", help="only lines since a time or duration (e.g. 10m, 2026-01-02T10:00)")
    logs.add_argument("--grep", help="only lines containing this string")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="then new lines as they come, on one host, until interrupted")
    certs = add_command(proxy, "certs", lambda a: _print_table(load_from_args(a).proxy.certs(renew=a.renew)),
                        "each host's HTTPS certificates: names, issuer, expiry, fingerprint")
    certs.add_argument("--renew", action="store_true",
                       help="first copy a renewed certificate from a role's first host to the others")
    boot_config = add_command(proxy, "boot_config", None, "how the proxy container is run (set|get|reset)")
    boot_group = boot_config.add_subparsers(dest="boot_config_command", metavar="<set|get|reset>")
    set_ = add_command(boot_group, "set", lambda a: _print(a, load_from_args(a).proxy.boot_config_set(
        publish=a.publish, http_port=a.http_port, https_port=a.https_port, log_max_size=a.log_max_size,
        docker_options=a.docker_options)), "set the options of the next proxy boot or reboot")
    set_.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True,
                      help="publish ports 80 and 443 on the host")
    set_.add_argument("--http-port", type=int, default=80)
    set_.add_argument("--https-port", type=int, default=443)
    set_.add_argument("--log-max-size", help="docker log rotation size, e.g. 10m")
    set_.add_argument("--docker-options", nargs="*", help="extra `docker run` options, e.g. --sysctl x=y")
    add_command(boot_group, "get", lambda a: _print_hosts(a, load_from_args(a).proxy.boot_config_get()),
                "each host's proxy boot options")
    add_command(boot_group, "reset", lambda a: _print(a, load_from_args(a).proxy.boot_config_reset()),
                "back to the default proxy boot options")


def _print_hosts(args: argparse.Namespace, texts: dict[str, str]) -> int:
    for host, text in texts.items():
        print(f"Proxy Host: {host}\n{text.rstrip()}\n")
    return 0


def _print_table(table: Any) -> int:
    """A table as text, without the columns that are empty in every row."""
    shown = table.dropna(axis=1, how="all")
    print(shown.to_string(index=False) if len(shown) else "(none)")
    return 0


def _proxy_reboot(args: argparse.Namespace) -> int:
    app = load_from_args(args)
    if not (args.plan or confirmed(args, "This will cause a brief outage on each host. Are you sure?")):
        return 0
    return _print(args, app.proxy.reboot(rolling=args.rolling, confirm=True, plan=args.plan))


def _proxy_logs(args: argparse.Namespace) -> int:
    app = load_from_args(args)
    if not args.follow:
        texts = app.proxy.logs(args.lines, since=args.since, grep=args.grep)
        assert texts is not None
        return _print_hosts(args, texts)
    if sys.stdin.isatty() and sys.stdout.isatty():
        # A terminal: ssh -t, as Kamal does, so Ctrl-C reaches the remote end at once.
        from kamalnb.steps import proxy as proxy_steps
        from kamalnb.steps.context import StepContext

        with StepContext(app.config, app.options, command="proxy", subcommand="logs") as context:
            line = proxy_steps.follow_command(context, lines=args.lines, since=args.since, grep=args.grep).render()
            host = proxy_steps.follow_host(context)
        print(f"Following logs on {host}...", flush=True)
        print(line, flush=True)
        os.execvp("sh", ["sh", "-c", line])
    app.proxy.logs(args.lines, since=args.since, grep=args.grep, follow=True)
    return 0
