"""A bind mount: `host:container[:options]`, relative host paths under the SSH user's home."""

from __future__ import annotations

from kamalnb.config.base import Frozen
from kamalnb.config.ruby import argumentize, present


class Volume(Frozen):
    def __init__(self, host_path: str, container_path: str, options: str | None = None) -> None:
        self.host_path = host_path
        self.container_path = container_path
        self.options = options
        self._freeze()

    @property
    def host_path_for_docker_volume(self) -> str:
        """Absolute paths as given; relative ones are anchored at `$PWD` (the SSH login dir)."""
        return self.host_path if self.host_path.startswith("/") else f"$PWD/{self.host_path}"

    @property
    def docker_args_string(self) -> str:
        value = f"{self.host_path_for_docker_volume}:{self.container_path}"
        if present(self.options):
            value += f":{self.options}"
        return value

    @property
    def docker_args(self) -> list[str]:
        return argumentize("--volume", self.docker_args_string)

    def __repr__(self) -> str:
        return f"Volume({self.docker_args_string!r})"
