"""The git facts Kamal uses for versions and build clones, read lazily from the project."""

from __future__ import annotations

import functools
from pathlib import Path

from kamalnb.secrets import local


class Git:
    def __init__(self, root: Path) -> None:
        self.cwd = str(root)

    def _git(self, *args: str) -> local.Completed:
        return local.run(["git", *args], cwd=self.cwd)

    @functools.cached_property
    def used(self) -> bool:
        return self._git("rev-parse").ok

    @functools.cached_property
    def revision(self) -> str:
        return self._git("rev-parse", "HEAD").stdout.strip()

    @property
    def uncommitted_changes(self) -> str:
        return self._git("status", "--porcelain").stdout.strip()

    @functools.cached_property
    def root(self) -> str:
        return self._git("rev-parse", "--show-toplevel").stdout.strip()

    @property
    def email(self) -> str:
        return self._git("config", "user.email").stdout.strip()

    @property
    def user_name(self) -> str:
        return self._git("config", "user.name").stdout.strip()
