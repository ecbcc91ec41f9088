"""`.kamal/secrets*`: read lazily, once, and only handed out as `Secret` values."""

from __future__ import annotations

import os
import re
import shlex
import threading
from collections.abc import Mapping
from pathlib import Path

from kamalnb.errors import ConfigError
from kamalnb.secrets import dotenv, local
from kamalnb.sensitive import Secret

_INLINE = re.compile(r"\A\s*kamal(?:nb)?\s*secrets\s+")


class Secrets:
    """The secrets of one configuration: `<path>-common`, then `<path>` or `<path>.<destination>`.

    Nothing is read (and no `$(...)` command runs) until a secret is first needed.
    """

    def __init__(
        self,
        destination: str | None = None,
        secrets_path: str = ".kamal/secrets",
        root: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.destination = destination
        self.secrets_path = secrets_path
        self.root = Path(root) if root is not None else Path.cwd()
        self._environ = environ
        self._lock = threading.Lock()
        self._values: dict[str, str] | None = None

    @property
    def filenames(self) -> list[str]:
        """The files Kamal would read, as written in messages (relative to the project)."""
        suffix = f".{self.destination}" if self.destination else ""
        return [f"{self.secrets_path}-common", f"{self.secrets_path}{suffix}"]

    @property
    def files(self) -> list[str]:
        return [name for name in self.filenames if (self.root / name).is_file()]

    def _run(self, command: str) -> str:
        if _INLINE.match(command):
            from kamalnb.secrets.commands import run_inline

            try:
                argv = shlex.split(command)
            except ValueError as error:
                raise ConfigError(f"{', '.join(self.files)}: cannot split `$({command})` into words: {error}") from None
            return local.chomp(run_inline(argv[1:]))
        environ = self._environ if self._environ is not None else os.environ
        return local.chomp(local.shell(command, env=environ, cwd=str(self.root)).stdout)

    def _load(self) -> dict[str, str]:
        with self._lock:
            if self._values is None:
                values: dict[str, str] = {}
                environ = self._environ if self._environ is not None else os.environ
                for name in self.files:
                    text = (self.root / name).read_text(encoding="utf-8")
                    values.update(dotenv.parse(text, run=self._run, environ=environ, filename=name))
                self._values = values
            return self._values

    def __getitem__(self, key: str) -> Secret:
        values = self._load()
        if key not in values:
            if self.files:
                raise ConfigError(f"Secret '{key}' not found in {', '.join(self.files)}")
            raise ConfigError(
                f"Secret '{key}' not found, no secret files ({', '.join(self.filenames)}) provided"
            )
        return Secret(values[key])

    def get(self, key: str) -> Secret | None:
        values = self._load()
        return Secret(values[key]) if key in values else None

    def __contains__(self, key: str) -> bool:
        """Kamal's `key?`: defined and not blank."""
        value = self._load().get(key)
        return value is not None and value.strip() != ""

    def to_dict(self) -> dict[str, Secret]:
        return {key: Secret(value) for key, value in self._load().items()}

    def keys(self) -> list[str]:
        return list(self._load())

    def __repr__(self) -> str:
        loaded = "loaded" if self._values is not None else "not loaded"
        return f"<Secrets {', '.join(self.filenames)} ({loaded})>"
