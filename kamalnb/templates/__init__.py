"""Files `kamalnb init` writes into a project, and the code that writes them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

# Every hook Kamal 2 runs, in the order a deploy meets them.
HOOKS = (
    "pre-connect", "pre-build", "pre-deploy", "post-deploy", "pre-app-boot", "post-app-boot",
    "pre-proxy-reboot", "post-proxy-reboot", "docker-setup",
)


def _template(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def init_project(directory: str | os.PathLike[str] = ".") -> Iterator[str]:
    """Write `config/deploy.yml`, `.kamal/secrets` and `.kamal/hooks/<hook>.sample`.

    Existing files are never overwritten. Yields one line per file, saying what happened.
    """
    root = Path(directory)
    files = [("config/deploy.yml", "deploy.yml", False), (".kamal/secrets", "secrets", False)]
    files += [(f".kamal/hooks/{hook}.sample", f"hooks/{hook}.sample", True) for hook in HOOKS]
    for target, source, executable in files:
        path = root / target
        if path.exists():
            yield f"Kept {target} (already exists)"
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_template(source), encoding="utf-8")
        if executable:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        yield f"Created {target}"
