"""`registry:`: where images are pushed and pulled, and the login for it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kamalnb.config import schema
from kamalnb.config.base import Frozen
from kamalnb.config.ruby import to_s
from kamalnb.config.validator import RegistryValidator, validate
from kamalnb.sensitive import Secret

if TYPE_CHECKING:
    from kamalnb.secrets.store import Secrets


class Registry(Frozen):
    def __init__(self, registry_config: dict[str, Any] | None, secrets: Secrets, context: str = "registry") -> None:
        self.registry_config: dict[str, Any] = registry_config or {}
        self.secrets = secrets
        validate(self.registry_config, schema.REGISTRY, context, RegistryValidator)
        self._freeze()

    @property
    def server(self) -> str | None:
        """The registry host; None means Docker Hub."""
        server = self.registry_config.get("server")
        return None if server is None else to_s(server)

    def _lookup(self, key: str) -> Any:
        value = self.registry_config.get(key)
        if isinstance(value, list):
            return self.secrets[value[0]]
        return value

    @property
    def username(self) -> str | Secret | None:
        """A literal username, or a Secret when given as `[SECRET_NAME]`."""
        value = self._lookup("username")
        return value if isinstance(value, Secret) or value is None else to_s(value)

    @property
    def password(self) -> Secret | None:
        """Always a Secret, literal or looked up."""
        value = self._lookup("password")
        if value is None or isinstance(value, Secret):
            return value
        return Secret(to_s(value))

    @property
    def local(self) -> bool:
        """`localhost:PORT`: a registry container on the deploying machine, reached by SSH tunnels."""
        return bool(re.match(r"^localhost[:$]", self.server or ""))

    @property
    def local_port(self) -> int | None:
        if not self.local:
            return None
        tail = (self.server or "").split(":")[-1]
        return int(tail) if tail.isdigit() else 0

    def __repr__(self) -> str:
        return f"Registry(server={self.server!r})"
