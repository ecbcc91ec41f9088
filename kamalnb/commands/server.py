"""Server-level state: the run directory and the per-app directories under it."""

from __future__ import annotations

from typing import Any

from kamalnb.commands.base import Command, command, pipe
from kamalnb.commands.paths import APPS_DIRECTORY, RUN_DIRECTORY, app_directory


class Server:
    def __init__(self, config: Any) -> None:
        self.config = config

    def ensure_run_directory(self) -> Command:
        return command("mkdir", "-p", RUN_DIRECTORY)

    def remove_app_directory(self) -> Command:
        return command("rm", "-r", app_directory(self.config))

    def app_directory_count(self) -> Command:
        """How many apps (service+destination) are installed on the host."""
        return pipe(command("ls", APPS_DIRECTORY), command("wc", "-l"))
