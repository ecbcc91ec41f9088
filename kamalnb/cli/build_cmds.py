"""`kamalnb build push|pull|deliver|create|remove|details|dev`: each a thin call to the same
`app.build` method a notebook uses, with Kamal's options."""

from __future__ import annotations

import argparse
from typing import Any

from kamalnb.cli.config_cmds import load_from_args, print_result


def _plan(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--plan", action="store_true",
                        help="print the exact commands per host and phase; run nothing, connect nowhere")
    return parser


def _build_options(parser: argparse.ArgumentParser, output: str | None) -> None:
    if output is not None:
        parser.add_argument("--output", default=output, metavar="export_type",
                            help="Exported type for the build result, and may be any exported type supported by "
                                 f"'buildx --output' (default: {output})")
    parser.add_argument("--no-cache", "--no_cache", dest="no_cache", action="store_true",
                        help="Build without using Docker's build cache")


def register(subparsers: Any, add_command: Any) -> None:
    group = subparsers.add_parser("build", help="Build application image", description="Build application image",
                                  add_help=False)
    group.add_argument("--help", action="help")
    build = group.add_subparsers(dest="build_command", metavar="<command>", required=True)
    push = _plan(add_command(build, "push", lambda a: print_result(a, load_from_args(a).build.push(
        no_cache=a.no_cache, output=a.output, plan=a.plan)), "Build and push app image to registry"))
    _build_options(push, "registry")
    _plan(add_command(build, "pull", lambda a: print_result(a, load_from_args(a).build.pull(plan=a.plan)),
                      "Pull app image from registry onto servers"))
    deliver = _plan(add_command(build, "deliver", lambda a: print_result(a, load_from_args(a).build.deliver(
        no_cache=a.no_cache, plan=a.plan)), "Build app and push app image to registry then pull image on servers"))
    _build_options(deliver, None)
    dev = _plan(add_command(build, "dev", lambda a: print_result(a, load_from_args(a).build.dev(
        no_cache=a.no_cache, output=a.output, plan=a.plan)),
        "Build using the working directory, tag it as dirty, and push to local image store."))
    _build_options(dev, "docker")
    _plan(add_command(build, "create", lambda a: print_result(a, load_from_args(a).build.create(plan=a.plan)),
                      "Create a build setup"))
    _plan(add_command(build, "remove", lambda a: print_result(a, load_from_args(a).build.remove(plan=a.plan)),
                      "Remove build setup"))
    add_command(build, "details", lambda a: print_result(a, load_from_args(a).build.details()), "Show build setup")
