"""What a host answers before a deploy changes anything: is Docker there and running, and
how much space is left where images and `~/.kamal` live.

The engine's `/info` answers the first (`kamalnb.facts.engine`), `space_check` the second.
Only when the engine does not answer does `host_check` run: one `sh -c` whose every output
line is tagged with the probe it belongs to, so a slow or missing part never hides the
others, and whose `docker info` and `docker version` say why.
"""

from __future__ import annotations

import shlex

from kamalnb.commands.base import Command, shell

ENGINE_FORMAT = "{{.ServerVersion}}|{{.DockerRootDir}}"


def host_check(run_directory: str = ".kamal") -> Command:
    """`docker info` (its exit status, and its first lines or why it failed), `df` of Docker's root directory, and
    `df` of the run directory (of the home directory while it does not exist yet)."""
    return shell(
        f'info=$(docker info --format "{ENGINE_FORMAT}" 2>&1); code=$?; echo "docker $code";',
        # `docker info --format` may say nothing about why it failed; `docker version` says it.
        '[ $code = 0 ] || info=$(docker version 2>&1 | grep -v "^ \\|^Client");',
        'echo "$info" | head -5 | sed "s/^/info /";',
        'df -Pk "${info#*|}" 2>/dev/null | sed "s/^/root /";',
        _run_directory_space(run_directory),
    )


def space_check(docker_root: str, run_directory: str = ".kamal") -> Command:
    """`df` of Docker's root directory and of the run directory (of the home directory while
    it does not exist yet), tagged as in `host_check`."""
    return shell(
        f"df -Pk {shlex.quote(docker_root)} 2>/dev/null | sed \"s/^/root /\";",
        _run_directory_space(run_directory),
    )


def _run_directory_space(run_directory: str) -> str:
    return f'{{ df -Pk {run_directory} || df -Pk .; }} 2>/dev/null | sed "s/^/kamal /"'
