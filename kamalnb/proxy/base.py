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
    # Kamal's proxy settings: seconds the app may take to answer (headers), whether the path
    # prefix is removed before the app sees the path (Kamal's default: yes), request body
    # size limit and buffering (bytes in memory; None: not buffered).
    response_timeout: float | None = None
    strip_path_prefix: bool = True
    max_request_body: int | None = None
    request_buffers: int | None = None
    response_buffers: int | None = None
    # HTTPS: the route is served on 443 too (its certificate is the host's `Certificate`);
    # with `ssl_redirect` (Kamal's default) plain HTTP requests are redirected there.
    tls: bool = False
    ssl_redirect: bool = True
    # Kamal's `forward_headers`: keep the client's X-Forwarded-For/-Proto/-Host (its address
    # appended to X-Forwarded-For) rather than replace them; for a client that is itself a proxy.
    forward_headers: bool = False


@dataclass(frozen=True)
class Certificate:
    """How one route's certificate reaches one host's proxy: obtained and renewed there by
    ACME (`acme_ca`), or certificate and key files kamalnb placed on the host (a custom
    certificate, or the copy of one obtained on another host of the role). Paths are on the
    host, relative to the login user's home."""

    names: tuple[str, ...]
    acme_ca: str | None = None
    # A PEM file the proxy trusts for the CA's own HTTPS (a private or test CA).
    acme_ca_root: str | None = None
    files: tuple[tuple[str, str], ...] = ()
    # SHA-256 of the files' certificates: new files make a new configuration, whose load reads them.
    fingerprint: str = ""
    # The host whose proxy obtains the certificate: this host's proxy passes it the CA's
    # HTTP-01 challenges, which reach whichever host the name resolves to.
    challenges_to: str | None = None


@dataclass(frozen=True)
class RouteState:
    id: str
    hosts: tuple[str, ...]
    upstreams: tuple[str, ...]
    in_flight: dict[str, int] = field(default_factory=dict)
    maintenance: bool = False


class ProxyDriver(Protocol):
    def boot(self, host: str) -> None:
        """Start the proxy on `host` unless it runs; keep its routes across restarts."""

    def reboot(self, host: str, drain_timeout: int) -> None:
        """Replace the proxy container (a new image or options); routes are kept. Requests
        in flight on the old one finish first, for up to `drain_timeout` seconds."""

    def remove(self, host: str) -> None:
        """Stop and remove the proxy container; each app's route is kept for the next boot."""

    def details(self, host: str) -> str:
        """`docker ps` line of the proxy container."""

    def start(self, host: str) -> None:
        """Start the stopped proxy container."""

    def stop(self, host: str) -> None:
        """Stop the proxy container (every app on the host stops being served)."""

    def restart(self, host: str) -> None:
        """Restart the proxy container; routes are kept."""

    def logs(self, host: str, lines: int = 100, *, since: str | None = None, grep: str | None = None) -> str:
        """The proxy container's last log lines, since a time, containing a string."""

    def switch(self, host: str, route: Route, target: str) -> str | None:
        """Send every new request of `route` to `target` atomically, without reloading the
        proxy. `target` is `<container id>:<port>`: a rename cannot move it to another
        container. Returns the previous target, which may still finish requests in flight."""

    def wait_drained(self, host: str, upstream: str, timeout: float) -> bool:
        """Wait until `upstream` has no request in flight (at most `timeout` seconds);
        False if the timeout came first."""

    def settle(self, host: str, route: Route, target: str) -> None:
        """Forget the previous target once it has drained, before it stops: from then on
        nothing of `route` can reach it, even a request that chose it before the switch."""

    def maintenance(self, host: str, route: Route, page: str | None) -> None:
        """With `page`, answer 503 and that page for `route` without stopping its container
        (requests in flight finish); with None, serve the container again."""

    def claims(self, host: str) -> list[Route]:
        """The routes the proxy on `host` serves, as matchers (none when it does not run)."""

    def remove_route(self, host: str, route_id: str) -> None:
        """Stop routing `route_id`."""

    def routes(self, host: str) -> list[RouteState]:
        """The routes on `host` with their upstreams and requests in flight."""

    def targets(self, host: str, route_id: str) -> tuple[str, ...]:
        """The targets `route_id` holds on `host`, the one new requests go to first; a
        second one is draining (or was left by a deploy that never finished)."""


def claims_of(route: Route) -> set[tuple[str, str]]:
    """What a route claims: (host name, path prefix) pairs; `*` for no host name (a catch-all)."""
    prefix = (route.path_prefix or "/").rstrip("/") or "/"
    return {(host.lower(), prefix) for host in route.hosts or ("*",)}


def conflicts(ours: list[Route], theirs: list[Route]) -> list[tuple[Route, Route, tuple[str, str]]]:
    """Pairs of different routes claiming the same host name and path prefix: each of `ours`
    against the others of `ours` and against `theirs` (what a proxy serves already)."""
    found = []
    for index, route in enumerate(ours):
        for other in [*ours[:index], *theirs]:
            if other.id != route.id:
                shared = sorted(claims_of(route) & claims_of(other))
                if shared:
                    found.append((route, other, shared[0]))
    return found


def describe_claim(claim: tuple[str, str]) -> str:
    host, prefix = claim
    where = "every host name (a catch-all route)" if host == "*" else f"host {host}"
    return where if prefix == "/" else f"{where}, path {prefix}"
