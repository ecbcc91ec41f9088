"""Accessory containers (databases, caches…): one named container per host, booted once.

Mirrors Kamal's `Kamal::Commands::Accessory`, without the proxy commands (the proxy driver's).
"""

from __future__ import annotations

import shlex
from typing import Any

from kamalnb.commands.base import (
    Command,
    Upload,
    command,
    container_id_for,
    docker,
    grep_pattern,
    interactive_flag,
    make_directory,
    make_directory_for,
    pipe,
    run_over_ssh,
)
from kamalnb.errors import ConfigError


class Accessory:
    def __init__(self, config: Any, name: str) -> None:
        accessory = config.accessory(name)
        if accessory is None:
            known = ", ".join(a.name for a in config.accessories) or "none configured"
            raise ConfigError(f"No accessory called {name!r} in the configuration (accessories: {known})")
        self.config = config
        self.accessory = accessory

    @property
    def service_name(self) -> str:
        return self.accessory.service_name

    @property
    def image(self) -> str:
        return self.accessory.image

    def run(self, host: str | None = None) -> Command:
        """`docker run --name <service> --detach …`; accessories use the root logging only and get no hostname."""
        accessory = self.accessory
        return docker(
            "run",
            "--name", self.service_name,
            "--detach",
            "--restart", accessory.restart_policy,
            accessory.network_args,
            self.config.logging_args,
            accessory.publish_args,
            ("--env", f'KAMAL_HOST="{host}"') if host else None,
            accessory.env_args,
            accessory.volume_args,
            accessory.label_args,
            accessory.option_args,
            self.image,
            accessory.cmd,
        )

    def start(self) -> Command:
        return docker("container", "start", self.service_name)

    def stop(self) -> Command:
        return docker("container", "stop", self.service_name)

    def info(self, all: bool = False, quiet: bool = False) -> Command:
        return docker("ps", "-a" if all else None, "-q" if quiet else None, self._service_filter())

    def info_json(self) -> Command:
        """kamalnb's `details` table: `docker ps -a` of the accessory, one JSON object a line."""
        return docker("ps", "-a", self._service_filter(), "--format", "'{{json .}}'")

    def container_id(self, only_running: bool = False) -> Command:
        return container_id_for(self.service_name, only_running=only_running)

    def logs(
        self,
        timestamps: bool = True,
        since: str | None = None,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        # Kamal's words carry their own leading space here, so the line has double spaces.
        return pipe(
            docker(
                "logs", self.service_name,
                f" --since {shlex.quote(since)}" if since else None,
                f" --tail {shlex.quote(str(lines))}" if lines else None,
                "--timestamps" if timestamps else None,
                "2>&1",
            ),
            f"grep {grep_pattern(grep)}" + (f" {grep_options}" if grep_options else "") if grep else None,
        )

    def follow_logs(self, timestamps: bool = True, grep: str | None = None, grep_options: str | None = None,
                    lines: int | None = None, since: str | None = None) -> Command:
        """Kamal's line (the last 10 lines, then new ones); `lines` and `since` are kamalnb's:
        Kamal ignores `-n` and `--since` with `--follow`."""
        return self.run_over_ssh(
            pipe(
                docker(
                    "logs", self.service_name,
                    "--timestamps" if timestamps else None,
                    ("--since", shlex.quote(since)) if since else None,
                    "--tail", str(lines or 10), "--follow", "2>&1",
                ),
                ("grep " + grep_pattern(grep, quote='"') + (f" {grep_options}" if grep_options else "")
                 if grep else None),
            )
        )

    def execute_in_existing_container(self, *cmd: str, interactive: bool = False, tty: bool = True) -> Command:
        return docker("exec", interactive_flag(tty) if interactive else None, self.service_name, cmd)

    def execute_in_new_container(self, *cmd: str, interactive: bool = False, tty: bool = True) -> Command:
        accessory = self.accessory
        return docker(
            "run",
            interactive_flag(tty) if interactive else None,
            "--rm",
            accessory.network_args,
            accessory.env_args,
            accessory.volume_args,
            accessory.option_args,
            self.image,
            cmd,
        )

    def execute_in_existing_container_over_ssh(self, *cmd: str, tty: bool = True) -> Command:
        return self.run_over_ssh(self.execute_in_existing_container(*cmd, interactive=True, tty=tty))

    def execute_in_new_container_over_ssh(self, *cmd: str, tty: bool = True) -> Command:
        return self.run_over_ssh(self.execute_in_new_container(*cmd, interactive=True, tty=tty))

    def run_over_ssh(self, cmd: Command) -> Command:
        """Interactive commands go to the accessory's first host."""
        return run_over_ssh(self.config.ssh, self.accessory.hosts[0], cmd)

    def pull_image(self) -> Command:
        return docker("image", "pull", self.image)

    def remove_service_directory(self) -> Command:
        return command("rm", "-rf", self.service_name)

    def remove_container(self) -> Command:
        return docker("container", "prune", "--force", self._service_filter())

    def named_volumes(self) -> list[str]:
        """The docker volumes (not host paths) among `volumes`: what `remove --volumes` deletes."""
        names = [volume.split(":", 1)[0] for volume in self.accessory.volumes]
        return [name for name in names if name and not name.startswith(("/", ".", "$", "~"))]

    def remove_volumes(self) -> Command | None:
        """`docker volume rm` of the named volumes (a kamalnb addition: Kamal keeps them)."""
        names = self.named_volumes()
        return docker("volume", "rm", "--force", *names) if names else None

    def remove_image(self) -> Command:
        return docker("image", "rm", "--force", self.image)

    def ensure_env_directory(self) -> Command:
        return make_directory(self.accessory.env_directory)

    def env_file(self) -> Upload:
        """The accessory's secret env file, mode 0600."""
        return Upload(self.accessory.secrets_path, self.accessory.env.env_file(), mode=0o600)

    def make_directory(self, path: str) -> Command:
        return make_directory(path)

    def make_directory_for(self, remote_file: str) -> Command:
        return make_directory_for(remote_file)

    def chmod(self, mode: str, path: str) -> Command:
        return command("chmod", str(mode), path)

    def chown(self, owner: str, path: str) -> Command:
        return command("chown", str(owner), path)

    def _service_filter(self) -> tuple[str, str]:
        return ("--filter", f"label=service={self.service_name}")
