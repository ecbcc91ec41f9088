"""How traffic is switched between app containers: a small driver interface, Caddy now."""

from kamalnb.proxy.base import ProxyDriver, Route, RouteState
from kamalnb.proxy.caddy import CaddyDriver

__all__ = ["CaddyDriver", "ProxyDriver", "Route", "RouteState"]
