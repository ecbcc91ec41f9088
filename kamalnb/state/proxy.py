"""The proxy's routes on every proxy host, as the proxy driver reports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from kamalnb.extension import Extension
from kamalnb.fanout import Outcomes, fan_out
from kamalnb.proxy import CaddyDriver, ProxyDriver
from kamalnb.state.base import answers, config_of, error_text, executor_for, frame, read_each

if TYPE_CHECKING:
    from kamalnb.executors import Executor
    from kamalnb.executors.base import HttpResponse

T = TypeVar("T")

ROUTES_COLUMNS = ("host", "route", "role", "domains", "upstream", "in_flight", "error")
CERTIFICATES_COLUMNS = ("host", "route", "role", "name", "source", "issuer", "not_after", "days_left",
                        "fingerprint", "error")


def _ask_each_proxy(app: Any, executor: Executor | None, driver: Any,
                    ask: Callable[[Any], Callable[[str], T]]) -> tuple[list[str], dict[str, str], Outcomes[str, T]]:
    """What `ask(driver)` answers on every proxy host (`driver` defaults to the configured
    Caddy), with this app's role for each of its route ids."""
    config = config_of(app)
    names = config.specifics.proxy_hosts
    with executor_for(config, executor) as ssh:
        proxy = driver or CaddyDriver(ssh, Extension.from_config(config.kamalnb).proxy_image)
        found = read_each(names, ask(proxy))
    return names, {role.container_prefix: role.name for role in config.roles}, found


def routes(app: Any, executor: Executor | None = None, *, driver: ProxyDriver | None = None) -> pd.DataFrame:
    """Every route of the proxy on each proxy host: one row per upstream (a route without
    one gives a row with no upstream). `role` names this app's role the route serves, and
    is empty for routes of other apps sharing the proxy."""
    names, ours, found = _ask_each_proxy(app, executor, driver, lambda proxy: proxy.routes)
    rows: list[dict[str, Any]] = []
    for host, answer in answers(found, names, rows):
        for state in sorted(answer, key=lambda state: state.id):
            base = {"host": host, "route": state.id, "role": ours.get(state.id), "domains": ", ".join(state.hosts)}
            for upstream in state.upstreams or (None,):
                rows.append({**base, "upstream": upstream,
                             "in_flight": state.in_flight.get(upstream) if upstream else None})
    table = frame(rows, ROUTES_COLUMNS)
    table["in_flight"] = table["in_flight"].astype("Int64")
    return table


REQUESTS_COLUMNS = ("host", "role", "url", "status", "body", "error")
BODY_SHOWN = 200


def requests(app: Any, executor: Executor | None = None, path: str | None = None) -> pd.DataFrame:
    """One HTTP GET through the proxy on each host of each proxied role, as a visitor's request
    arrives: to the proxy's HTTP port on the host's loopback (through the SSH connection),
    with the role's first proxy host name as `Host` when it has one. `path` defaults to the
    role's health check path (`/up`). `body` holds the start of the answer."""
    config = config_of(app)
    roles = {role.name: role for role in config.roles}
    pairs = [(host, role.name) for host, role in config.specifics.role_hosts if role.proxy is not None]

    def get(pair: tuple[str, str]) -> tuple[str, HttpResponse]:
        host, name = pair
        proxy = roles[name].proxy
        assert proxy is not None
        run = config.proxy_run(host)
        port = run.http_port if run is not None else 80
        url_path = path or proxy.healthcheck_path
        domain = proxy.hosts[0] if proxy.hosts else None
        response = ssh.http(host, "GET", "127.0.0.1", port, url_path, headers={"Host": domain} if domain else {})
        return f"http://{domain or host}:{port}{url_path}", response

    with executor_for(config, executor) as ssh:
        found = fan_out(pairs, get)
    rows: list[dict[str, Any]] = []
    for host, name in pairs:
        if (host, name) in found.errors:
            rows.append({"host": host, "role": name, "error": error_text(found.errors[(host, name)])})
            continue
        url, response = found.results[(host, name)]
        body = response.text.strip()
        rows.append({"host": host, "role": name, "url": url, "status": response.status,
                     "body": body if len(body) <= BODY_SHOWN else body[:BODY_SHOWN] + "…"})
    table = frame(rows, REQUESTS_COLUMNS)
    table["status"] = table["status"].astype("Int64")
    return table


def certificates(app: Any, executor: Executor | None = None, *, driver: CaddyDriver | None = None) -> pd.DataFrame:
    """Every name served over HTTPS by the proxy on each proxy host: where its certificate
    comes from (ACME on this host, a copy from the host that obtained it, custom), its issuer,
    expiry and SHA-256 fingerprint; `error` when the certificate is not (yet) there."""
    from datetime import UTC, datetime

    from kamalnb.proxy.certificates import inspect

    names, ours, found = _ask_each_proxy(app, executor, driver, lambda proxy: proxy.served_certificates)
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for host, answer in answers(found, names, rows):
        for route_id, name, source, pem in answer:
            row = {"host": host, "route": route_id, "role": ours.get(route_id), "name": name, "source": source}
            if pem is None:
                rows.append({**row, "error": "no certificate yet"})
                continue
            info = inspect(pem)
            rows.append({**row, "issuer": info.issuer, "not_after": info.not_after,
                         "days_left": (info.not_after - now).days, "fingerprint": info.fingerprint})
    table = frame(rows, CERTIFICATES_COLUMNS, times=("not_after",))
    table["days_left"] = table["days_left"].astype("Int64")
    return table
