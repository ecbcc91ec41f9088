"""Files `kamalnb init` writes into a project, and the code that writes them."""

from __future__ import annotations

import os
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
    # The secrets file is only ever readable by its owner, from the moment it exists.
    files = [("config/deploy.yml", "deploy.yml", 0o644), (".kamal/secrets", "secrets", 0o600)]
    files += [(f".kamal/hooks/{hook}.sample", f"hooks/{hook}.sample", 0o755) for hook in HOOKS]
    for target, source, mode in files:
        path = root / target
        if path.exists():
            yield f"Kept {target} (already exists)"
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(_template(source))
        yield f"Created {target}"
