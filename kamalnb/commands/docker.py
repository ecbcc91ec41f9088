"""Docker on the servers: is it installed and running, can we install it, the `kamal` network."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from kamalnb.commands.base import Command, any_of, command, docker, pipe, shell
from kamalnb.config.base import NETWORK

INSTALL_SCRIPT_URL = "https://get.docker.com"


class Docker:
    def __init__(self, config: Any = None) -> None:
        self.config = config

    def install(self) -> Command:
        """Docker's convenience install script, fetched with curl or wget."""
        fetch = any_of(
            command("curl", "-fsSL", INSTALL_SCRIPT_URL),
            command("wget", "-O -", INSTALL_SCRIPT_URL),
            command("echo", '"exit 1"'),
        )
        return pipe(shell(fetch), "sh")

    def installed(self) -> Command:
        return docker("-v")

    def info(self, format_: str) -> Command:
        return docker("info", "--format", shlex.quote(format_))

    def inspect_containers(self, filters: Sequence[str] = ()) -> Command:
        """`docker inspect` of every container `docker ps --all` lists with `filters`
        (`--filter` pairs); no output when there is none."""
        listed = docker("ps", "--all", "--quiet", "--no-trunc", *map(shlex.quote, filters))
        return pipe(listed, command("xargs", "--no-run-if-empty", "docker", "inspect"))

    def inspect_images(self, repository: str | None) -> Command:
        """`docker image inspect` of every image of `repository` (None: every image on the
        host); no output when there is none."""
        listed = docker("image", "ls", "--quiet", "--no-trunc", *([shlex.quote(repository)] if repository else []))
        return pipe(listed, command("xargs", "--no-run-if-empty", "docker", "image", "inspect"))

    def disk_free(self, path: str) -> Command:
        return command("df", "-Pk", shlex.quote(path))

    def buildx_installed(self) -> Command:
        return docker("buildx", "version")

    def container_logs(self, container: str, lines: int) -> Command:
        return docker("logs", "--tail", str(lines), shlex.quote(container))

    def running(self) -> Command:
        return docker("version")

    def superuser(self) -> Command:
        return command('[ "${EUID:-$(id -u)}" -eq 0 ] || sudo -nl usermod >/dev/null')

    def root(self) -> Command:
        return command('[ "${EUID:-$(id -u)}" -eq 0 ]')

    def in_docker_group(self) -> Command:
        return command('id -nG "${USER:-$(id -un)}" | grep -qw docker')

    def add_to_docker_group(self) -> Command:
        return command('sudo -n usermod -aG docker "${USER:-$(id -un)}"')

    def refresh_session(self) -> Command:
        return command("kill -HUP $PPID")

    def create_network(self) -> Command:
        return docker("network", "create", NETWORK)
