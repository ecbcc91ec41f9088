"""Server-level state: the run directory and the per-app directories under it."""

from __future__ import annotations

from typing import Any

from kamalnb.commands.base import Command, command, pipe


class Server:
    def __init__(self, config: Any) -> None:
        self.config = config

    def ensure_run_directory(self) -> Command:
        return command("mkdir", "-p", self.config.run_directory)

    def remove_app_directory(self) -> Command:
        return command("rm", "-r", self.config.app_directory)

    def app_directory_count(self) -> Command:
        """How many apps (service+destination) are installed on the host."""
        return pipe(command("ls", self.config.apps_directory), command("wc", "-l"))
