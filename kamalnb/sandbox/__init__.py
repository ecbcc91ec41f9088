"""A local lab fleet of real hosts: OpenSSH servers and Docker engines in namespaces.

`Sandbox` and `SandboxHost` load on first use, so the command line's help and parsers do
not pay for the sandbox's machinery."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kamalnb.sandbox.fleet import Sandbox, SandboxHost

__all__ = ["DEFAULT_NAME", "Sandbox", "SandboxHost"]

DEFAULT_NAME = "default"


def __getattr__(name: str) -> Any:
    if name in ("Sandbox", "SandboxHost"):
        from kamalnb.sandbox import fleet

        return getattr(fleet, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
