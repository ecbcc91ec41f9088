"""`App`: one loaded Kamal project, the handle every step hangs off.

    app = kamalnb.load("config/deploy.yml", destination="staging")
    app                  # in a notebook: roles, hosts and settings (secrets redacted)
    app.config.role("web").container_name()
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from kamalnb.config import Configuration
from kamalnb.config import display
from kamalnb.config import load as load_config
from kamalnb.steps.api import Steps


@dataclass(frozen=True)
class Options:
    """Kamal's global options, as given to `kamalnb.load()` or on the command line."""

    verbose: bool = False
    quiet: bool = False
    skip_hooks: bool = False


class App(Steps):
    """A Kamal project: its frozen `config` plus the global options in force."""

    def __init__(self, config: Configuration, options: Options | None = None) -> None:
        self.config = config
        self.options = options or Options()

    # -- display ------------------------------------------------------------------
    def __repr__(self) -> str:
        return display.text(self.config, f"App {self.config.service_and_destination}")

    def _repr_html_(self) -> str:
        return display.html_table(self.config, f"App {self.config.service_and_destination}")


def load(
    path: str | os.PathLike[str] = "config/deploy.yml",
    destination: str | None = None,
    *,
    version: str | None = None,
    hosts: str | Sequence[str] | None = None,
    roles: str | Sequence[str] | None = None,
    primary: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    skip_hooks: bool = False,
    root: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> App:
    """Load a Kamal project: `kamalnb.load("config/deploy.yml", "staging", roles="web")`.

    The keyword arguments are Kamal's global options (`--version`, `-h`, `-r`, `-p`, `-v`,
    `-q`, `-H`). `root` is the project directory (secrets, hooks); by default the directory
    holding `config/` when the file is in one, so a notebook in a sub-directory can load
    `"../config/deploy.yml"`, else the current directory. Raises ConfigError; warns
    (UserWarning) about a leftover Kamal 1 `.env`.
    """
    if root is None:
        path = Path(os.path.abspath(path))
        root = path.parent.parent if path.parent.name == "config" else Path.cwd()
    config = load_config(
        path, destination, version=version, hosts=hosts, roles=roles, primary=primary, root=root, environ=environ,
    )
    for message in config.warnings:
        warnings.warn(message, UserWarning, stacklevel=2)
    return App(config, Options(verbose=verbose, quiet=quiet, skip_hooks=skip_hooks))
