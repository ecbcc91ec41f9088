"""Read-only objects: a configuration never changes once loaded."""

from __future__ import annotations

from typing import Any


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
