"""A local lab fleet of real hosts: OpenSSH servers and Docker engines in namespaces."""

from kamalnb.sandbox.fleet import Sandbox, SandboxHost

__all__ = ["Sandbox", "SandboxHost"]
