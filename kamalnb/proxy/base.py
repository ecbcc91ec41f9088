"""What any proxy driver does; Caddy implements it, another proxy could.

A deploy's switch, drain and settle must change no listener and restart no server in the
proxy: clients on kept-alive connections would see resets. Adding or removing a route may.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Route:
    """One route per service/role/destination, e.g. `sample-web` or `sample-web-staging`."""

    id: str
    hosts: tuple[str, ...] = ()
    path_prefix: str | None = None


@dataclass(frozen=True)
class RouteState:
    id: str
    hosts: tuple[str, ...]
    upstreams: tuple[str, ...]
    in_flight: dict[str, int] = field(default_factory=dict)


class ProxyDriver(Protocol):
    def boot(self, host: str) -> None:
        """Start the proxy on `host` unless it runs; keep its routes across restarts."""

    def reboot(self, host: str) -> None:
        """Replace the proxy container (a new image or options); routes are kept."""

    def remove(self, host: str) -> None:
        """Stop and remove the proxy container and its state."""

    def details(self, host: str) -> str:
        """`docker ps` line of the proxy container."""

    def logs(self, host: str, lines: int = 100) -> str:
        """The proxy container's last log lines."""

    def switch(self, host: str, route: Route, target: str) -> str | None:
        """Send every new request of `route` to `target` atomically, without reloading the
        proxy. `target` is `<container id>:<port>`: a rename cannot move it to another
        container. Returns the previous target, which may still finish requests in flight."""

    def wait_drained(self, host: str, upstream: str, timeout: float) -> bool:
        """Wait until `upstream` has no request in flight (at most `timeout` seconds);
        False if the timeout came first."""

    def settle(self, host: str, route: Route, target: str) -> None:
        """Forget the previous target once it has drained and stopped."""

    def remove_route(self, host: str, route_id: str) -> None:
        """Stop routing `route_id`."""

    def routes(self, host: str) -> list[RouteState]:
        """The routes on `host` with their upstreams and requests in flight."""
