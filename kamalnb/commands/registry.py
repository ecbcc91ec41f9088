"""Registry login/logout on hosts and the local registry container on the deploying machine.

One deliberate difference from Kamal: the password goes to `docker login --password-stdin` as
the command's stdin, so it never appears in a process list or a shell history.
"""

from __future__ import annotations

from typing import Any

from kamalnb.commands.base import Command, Sensitive, any_of, combine, docker, escape_shell_value
from kamalnb.sensitive import REDACTED, Secret, reveal

LOCAL_REGISTRY_CONTAINER = "kamal-docker-registry"
LOCAL_REGISTRY_IMAGE = "registry:3"


class Registry:
    def __init__(self, config: Any) -> None:
        self.config = config

    def login(self, registry: Any = None) -> Command | None:
        """`docker login [<server>] -u "<user>" --password-stdin`, the password as stdin; None for a local registry."""
        registry = registry or self.config.registry
        if registry.local:
            return None
        username = Sensitive(escape_shell_value(reveal(registry.username)), redaction=REDACTED)
        password = registry.password if isinstance(registry.password, Secret) else Secret(str(registry.password or ""))
        return Command(docker("login", registry.server, "-u", username, "--password-stdin").words, stdin=password)

    def logout(self, registry: Any = None) -> Command:
        registry = registry or self.config.registry
        return docker("logout", registry.server)

    def setup(self, registry: Any = None) -> Command:
        """Start the local registry container, creating it on first use."""
        registry = registry or self.config.registry
        return any_of(
            docker("start", LOCAL_REGISTRY_CONTAINER),
            docker(
                "run", "--detach", "-p", f"127.0.0.1:{registry.local_port}:5000",
                "--name", LOCAL_REGISTRY_CONTAINER, LOCAL_REGISTRY_IMAGE,
            ),
        )

    def remove(self) -> Command:
        return combine(docker("stop", LOCAL_REGISTRY_CONTAINER), docker("rm", LOCAL_REGISTRY_CONTAINER))
