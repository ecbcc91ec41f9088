"""`-h`, `-r` and `-p`: which hosts and roles a command touches (Kamal's Commander::Specifics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kamalnb.config.base import Frozen
from kamalnb.config.ruby import fnmatch_extglob
from kamalnb.errors import ConfigError

if TYPE_CHECKING:
    from kamalnb.config.configuration import Configuration
    from kamalnb.config.role import Role


def filter_specific_items(filters: Sequence[str], items: Sequence[str]) -> list[str]:
    """Items matching any filter (`*`, `?`, `[..]`, `{a,b}` allowed), in filter order, each once."""
    matches: list[str] = []
    for pattern in filters:
        for item in items:
            if fnmatch_extglob(pattern, item) and item not in matches:
                matches.append(item)
    return matches


def split_option(value: str | Sequence[str] | None) -> list[str] | None:
    """`"a,b"` -> `["a", "b"]` as Ruby's `split(",")` does; None/empty means "no filter"."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.split(",")
        while parts and parts[-1] == "":
            parts.pop()
        return parts or None
    return list(value) or None


class Specifics(Frozen):
    """The selected roles and hosts, primary role first and primary-role hosts first."""

    def __init__(self, config: Configuration, specific_hosts: list[str] | None,
                 specific_roles: list[Role] | None) -> None:
        self.config = config
        self.specific_hosts = specific_hosts
        self.specific_roles = specific_roles

        scope = specific_hosts if specific_hosts is not None else config.all_hosts
        roles = [role for role in (specific_roles if specific_roles is not None else list(config.roles))
                 if any(host in role.tagged_hosts for host in scope)]
        hosts = list(scope)
        role_hosts = {host for role in (specific_roles or []) for host in role.tagged_hosts}
        if role_hosts:
            hosts = [host for host in hosts if host in role_hosts]

        primary_specific_role = self._primary_or_first(specific_roles) if specific_roles else None
        self.primary_host: str | None = (
            (specific_hosts[0] if specific_hosts else None)
            or (primary_specific_role.primary_host if primary_specific_role else None)
            or config.primary_host
        )
        self._roles = roles
        self.primary_role: Role | None = self._primary_or_first(self.roles_on(self.primary_host))
        self.roles: list[Role] = sorted(roles, key=lambda role: 0 if role == self.primary_role else 1)
        self._roles = self.roles
        self.hosts: list[str] = self._primary_role_hosts_first(hosts)
        # Membership tests against thousands of hosts: a set, not the list.
        self._selected = frozenset(self.hosts)
        self._freeze()

    @classmethod
    def select(
        cls,
        config: Configuration,
        hosts: str | Sequence[str] | None = None,
        roles: str | Sequence[str] | None = None,
        primary: bool = False,
    ) -> Specifics:
        """Apply `-h`, `-r`, `-p` in Kamal's order, with Kamal's errors when nothing matches."""
        host_filters = split_option(hosts)
        role_filters = split_option(roles)
        specific_hosts = None
        if host_filters:
            specific_hosts = filter_specific_items(host_filters, config.all_hosts)
            if not specific_hosts:
                raise ConfigError(f"No --hosts match for {','.join(host_filters)}")
        specific_roles = None
        if role_filters:
            names = filter_specific_items(role_filters, [role.name for role in config.roles])
            if not names:
                raise ConfigError(f"No --roles match for {','.join(role_filters)}")
            specific_roles = [role for name in names for role in config.roles if role.name == name]
        if primary:
            if specific_roles:
                specific_hosts = [specific_roles[0].primary_host] if specific_roles[0].primary_host else None
            elif config.primary_host:
                specific_hosts = [config.primary_host]
        return cls(config, specific_hosts, specific_roles)

    def _primary_or_first(self, roles: Sequence[Role] | None) -> Role | None:
        if not roles:
            return None
        primary = self.config.primary_role
        return next((role for role in roles if role == primary), roles[0])

    def roles_on(self, host: str | None) -> list[Role]:
        return [role for role in self._roles if host in role.tagged_hosts]

    def _primary_role_hosts_first(self, hosts: list[str]) -> list[str]:
        return sorted(hosts,
                      key=lambda host: 0 if any(role == self.primary_role for role in self.roles_on(host)) else 1)

    def hosts_of(self, role: Role) -> list[str]:
        """The selected hosts of `role`, in the role's own order."""
        return [host for host in role.hosts if host in self._selected]

    @property
    def role_hosts(self) -> list[tuple[str, Role]]:
        """Every selected (host, role) pair: primary role first, each role's hosts in order."""
        return [(host, role) for role in self.roles for host in self.hosts_of(role)]

    @property
    def role_host_names(self) -> list[tuple[str, str]]:
        """`role_hosts` with each role's name: the rows a step on them announces."""
        return [(host, role.name) for host, role in self.role_hosts]

    @property
    def app_hosts(self) -> list[str]:
        hosts = [host for host in self.config.app_hosts if host in self._selected]
        return self._primary_role_hosts_first(hosts)

    @property
    def proxy_hosts(self) -> list[str]:
        return [host for host in self.config.proxy_hosts if host in self._selected]

    @property
    def accessory_hosts(self) -> list[str]:
        hosts = (host for accessory in self.config.accessories for host in accessory.hosts)
        return list(dict.fromkeys(host for host in hosts if host in self._selected))

    @property
    def role_names(self) -> list[str]:
        return [role.name for role in self.roles]

    def __repr__(self) -> str:
        return f"Specifics(roles={self.role_names}, hosts={self.hosts}, primary_host={self.primary_host!r})"
