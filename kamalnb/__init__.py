"""kamalnb: Kamal's zero-downtime container deploys, from Jupyter notebooks.

`App`, `load`, `Fleet` and `fleet` are imported on first use, so that `import kamalnb` (and every command
line verb) pays only for what it uses.
"""

from typing import TYPE_CHECKING, Any

from kamalnb.errors import (
    AuthenticationFailed,
    CommandFailed,
    CommandTimedOut,
    ConfigError,
    HealthCheckFailed,
    HookFailed,
    HostError,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
    KamalnbError,
    LockHeld,
    SandboxError,
    StepFailed,
)
from kamalnb.sensitive import Secret

if TYPE_CHECKING:
    from kamalnb.app import App, Fleet, fleet, load

__version__ = "0.1.0"

__all__ = [
    "App",
    "AuthenticationFailed",
    "CommandFailed",
    "CommandTimedOut",
    "ConfigError",
    "Fleet",
    "HealthCheckFailed",
    "HookFailed",
    "HostError",
    "HostKeyChanged",
    "HostKeyUnknown",
    "HostUnreachable",
    "KamalnbError",
    "LockHeld",
    "SandboxError",
    "Secret",
    "StepFailed",
    "__version__",
    "fleet",
    "load",
]


def __getattr__(name: str) -> Any:
    if name in ("App", "Fleet", "fleet", "load"):
        from kamalnb import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
