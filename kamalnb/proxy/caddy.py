"""The Caddy proxy driver: boots Caddy in a container on each host and switches routes
through its admin API, reached over an SSH tunnel (no tool needed on the host)."""

from __future__ import annotations

import json
import time
from typing import Any

from kamalnb import facts
from kamalnb.commands.base import Command, HttpRequest
from kamalnb.errors import HostError
from kamalnb.executors.base import Executor, HttpResponse
from kamalnb.proxy import caddy_config as cc
from kamalnb.proxy.base import Route, RouteState

ADMIN_READY_TIMEOUT = 15.0
POLL_INTERVAL = 0.05


class CaddyDriver:
    def __init__(self, executor: Executor, image: str, *, http_port: int = 80, https_port: int = 443) -> None:
        self.executor = executor
        self.image = image
        self.http_port = http_port
        self.https_port = https_port

    # ---- the container -----------------------------------------------------------------

    def boot(self, host: str) -> None:
        if self.executor.read(host, facts.container_state(cc.kamal_proxy_running(), "kamal_proxy_running")):
            raise HostError(
                host,
                "runs Kamal's kamal-proxy, which holds ports 80 and 443; kamalnb drives Caddy. "
                "Remove it with `kamal proxy remove` first, or keep deploying this host with Kamal",
            )
        self.executor.run(host, cc.ensure_network())
        state = self.executor.read(host, facts.container_state(cc.container_state(), "proxy_state"))
        if state == "running":
            return
        if state:
            self.executor.run(host, cc.docker("start", cc.CONTAINER))
        else:
            self.executor.run(host, Command.from_argv(("mkdir", "-p", cc.CONFIG_DIR)))
            self.executor.upload(host, json.dumps(cc.base_config(), indent=2), cc.CONFIG_FILE, mode=0o644)
            self.executor.run(host, cc.run_command(self.image, self.http_port, self.https_port))
        self._wait_for_admin(host)

    def reboot(self, host: str) -> None:
        self.executor.run(host, cc.docker("rm", "--force", cc.CONTAINER))
        self.boot(host)

    def remove(self, host: str) -> None:
        self.executor.run(host, cc.docker("rm", "--force", cc.CONTAINER))
        self.executor.run(host, cc.docker("volume", "rm", "--force", *cc.VOLUMES))
        self.executor.run(host, Command.from_argv(("rm", "-rf", cc.CONFIG_DIR)))

    def details(self, host: str) -> str:
        return self.executor.run(host, cc.docker("ps", "--filter", f"name=^{cc.CONTAINER}$")).stdout

    def logs(self, host: str, lines: int = 100) -> str:
        result = self.executor.run(host, cc.docker("logs", "--tail", str(lines), cc.CONTAINER))
        return result.stdout + result.stderr

    # ---- routes ------------------------------------------------------------------------

    def switch(self, host: str, route: Route, target: str) -> str | None:
        current = self.executor.read(host, self._admin_read("proxy_route", f"/id/{route.id}", missing=(404,)))
        if current is None:
            self._add_route(host, route, cc.route_config(route, target))
            return None
        previous = next((p for p in cc.route_upstreams(current) if p != target), None)
        # One PATCH replaces the whole route: matchers and upstreams change together.
        self._admin(host, "PATCH", f"/id/{route.id}", body=cc.route_config(route, target, draining=previous))
        return previous

    def settle(self, host: str, route: Route, target: str) -> None:
        self._admin(host, "PATCH", f"/id/{route.id}", body=cc.route_config(route, target))

    def _add_route(self, host: str, route: Route, config: dict[str, Any]) -> None:
        # Host-matched routes go first, so that an app without a host (a catch-all)
        # never shadows another app's routes on the same proxy.
        if route.hosts:
            self._admin(host, "PUT", f"{cc.ROUTES_PATH}/0", body=config)
        else:
            self._admin(host, "POST", cc.ROUTES_PATH, body=config)

    def wait_drained(self, host: str, upstream: str, timeout: float) -> bool:
        """Until `upstream` has no request in flight; False if the timeout came first."""
        deadline = time.monotonic() + timeout
        while True:
            if self._in_flight(host).get(upstream, 0) == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL)

    def remove_route(self, host: str, route_id: str) -> None:
        self._admin(host, "DELETE", f"/id/{route_id}", allow=(404,))

    def routes(self, host: str) -> list[RouteState]:
        configs = self.executor.read(host, self._admin_read("proxy_routes", cc.ROUTES_PATH, missing=(400, 404)))
        in_flight = self._in_flight(host)
        states = []
        for config in configs or []:
            upstreams = tuple(cc.route_upstreams(config))
            states.append(RouteState(
                id=config.get("@id", ""), hosts=cc.route_hosts(config), upstreams=upstreams,
                in_flight={u: in_flight.get(u, 0) for u in upstreams},
            ))
        return states

    # ---- plumbing ----------------------------------------------------------------------

    def _in_flight(self, host: str) -> dict[str, int]:
        return self.executor.read(host, facts.proxy_in_flight(self._admin_request("/reverse_proxy/upstreams")))

    @staticmethod
    def _admin_request(path: str) -> HttpRequest:
        return HttpRequest("GET", "127.0.0.1", cc.ADMIN_PORT, path)

    def _admin_read(self, fact: str, path: str, *, missing: tuple[int, ...]) -> facts.Read[Any]:
        return facts.admin_json(fact, self._admin_request(path), missing)

    def _wait_for_admin(self, host: str) -> None:
        deadline = time.monotonic() + ADMIN_READY_TIMEOUT
        while True:
            try:
                if self.executor.http(host, "GET", "127.0.0.1", cc.ADMIN_PORT, "/config/", timeout=2).ok:
                    return
            except HostError:
                pass
            if time.monotonic() >= deadline:
                raise HostError(host, f"Caddy's admin API did not answer within {ADMIN_READY_TIMEOUT:.0f}s; "
                                      f"see `kamalnb proxy logs` ({self.logs(host, 20).strip()[-500:]})")
            time.sleep(0.1)

    def _admin(self, host: str, method: str, path: str, *, body: Any = None,
               allow: tuple[int, ...] = ()) -> HttpResponse:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else None
        response = self.executor.http(host, method, "127.0.0.1", cc.ADMIN_PORT, path, body=data, headers=headers)
        if not response.ok and response.status not in allow:
            raise HostError(host, f"Caddy refused {method} {path}: {response.status} {response.text.strip()}")
        return response
