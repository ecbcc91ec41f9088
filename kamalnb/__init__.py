"""kamalnb: Kamal's zero-downtime container deploys, from Jupyter notebooks."""

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
from kamalnb.app import App, load

__version__ = "0.1.0"

__all__ = [
    "App",
    "AuthenticationFailed",
    "CommandFailed",
    "CommandTimedOut",
    "ConfigError",
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
    "load",
]
