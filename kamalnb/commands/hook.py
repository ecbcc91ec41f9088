"""Hooks: executables run on the deploying machine around each step, with Kamal's env."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kamalnb.commands.base import Command
from kamalnb.commands.tags import Tags
from kamalnb.sensitive import Secret


class Hook:
    def __init__(self, config: Any) -> None:
        self.config = config

    def hook_file(self, hook: str) -> str:
        return posixpath.join(self.config.hooks_path, hook)

    def run(self, hook: str) -> Command:
        """The hook's path as the only word, quoted so a path with spaces stays one argument."""
        return Command.from_argv([self.hook_file(hook)])

    def env(
        self,
        *,
        recorded_at: datetime,
        performer: str,
        secrets: Mapping[str, str | Secret] | None = None,
        **details: object,
    ) -> dict[str, str | Secret]:
        """KAMAL_* variables (plus `secrets` for the hooks that get them: pre-connect, pre/post-deploy).

        `details` are e.g. `hosts=[...]`, `roles=[...]`, `lock=True`, `command="deploy"`,
        `subcommand="exec"`, `runtime=12`; lists become comma-separated values.
        """
        env: dict[str, str | Secret] = dict(
            Tags.from_config(self.config, recorded_at=recorded_at, performer=performer, **details).env()
        )
        if secrets:
            env.update(secrets)
        return env
