"""Read-only objects: a configuration never changes once loaded."""

from __future__ import annotations

from typing import Any

from kamalnb.config.ruby import optionize, to_s

# The docker network Kamal puts the proxy, the app and the accessories on.
NETWORK = "kamal"


class Frozen:
    """Attributes are set in `__init__`, then `_freeze()` makes the object read-only.

    `functools.cached_property` still works: it writes to the instance dict directly.
    """

    _frozen = False

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise AttributeError(f"{type(self).__name__} is read-only; load the configuration again to change it")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")


class DockerOptions:
    """`options:` of a role or an accessory: `docker run` flags, except `restart`, which
    is the container's restart policy."""

    @property
    def docker_options(self) -> dict[str, Any]:
        """The `options:` mapping as configured, which each class reads from its own config."""
        raise NotImplementedError

    @property
    def options(self) -> dict[str, Any]:
        """Docker run options without `restart` (which becomes `restart_policy`)."""
        return {key: value for key, value in self.docker_options.items() if to_s(key) != "restart"}

    @property
    def option_args(self) -> list[str]:
        return optionize(self.options)

    @property
    def restart_policy(self) -> str:
        for key, value in self.docker_options.items():
            if to_s(key) == "restart":
                return value
        return "unless-stopped"
