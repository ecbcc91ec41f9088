"""Route switches under load: kamalnb's slot switch (no reload) vs a reload per switch.

    python bench/proxy_switch.py [--sandbox NAME] [--switches N] [--rate R] [--method GET|POST]

On one sandbox host, two versions of the sample app run behind the proxy while clients
loop requests at that host (half on kept-alive connections, half on a new connection per
request, about R requests per second in all, bounded in count and time). Routes then
switch N times between the two versions, each switch followed by the drain and settle a
deploy does, first with kamalnb's mechanism (the route's slot files flipped by a rename,
Caddy's configuration untouched), then with a configuration change through Caddy's admin
API per switch (a reload, as kamalnb did before). Prints both side by side.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from kamalnb.commands.base import Command
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.facts import container_ref
from kamalnb.proxy import CaddyDriver, Route
from kamalnb.sandbox import Sandbox, sample_app
from kamalnb.sandbox.traffic import Tally, Traffic

ROUTE = Route("bench-web")


def start_apps(driver: CaddyDriver, sandbox: Sandbox, host: str) -> list[str]:
    """Two versions of the sample app on the `kamal` network; their targets (`id:80`)."""
    image = sample_app.build(sandbox, "proxy-bench")
    run = driver.executor.run
    run(host, Command.from_argv(["docker", "pull", "-q", image]))
    targets = []
    for version in ("v1", "v2"):
        name = f"proxybench-{version}"
        run(host, Command.from_argv(["docker", "rm", "-f", name]))
        run(host, Command.from_argv(["docker", "run", "-d", "--name", name, "--network", "kamal",
                                     "-e", f"KAMAL_VERSION={version}", image]))
        targets.append(f"{driver.executor.read(host, container_ref(name))}:80")
    return targets


def slot_switch(driver: CaddyDriver, host: str, target: str) -> None:
    previous = driver.switch(host, ROUTE, target)
    if previous:
        driver.wait_drained(host, previous, 5)
    driver.settle(host, ROUTE, target)


def reload_switch(driver: CaddyDriver, host: str, target: str) -> None:
    """A route whose upstream names the container, changed through the admin API: a reload."""
    config = {"@id": ROUTE.id, "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": target}]}],
              "terminal": True}
    driver._admin(host, "PATCH", f"/id/{ROUTE.id}", body=config)


def storm(driver: CaddyDriver, host: str, targets: list[str], switches: int, switch: Callable[..., None],
          args: argparse.Namespace) -> tuple[int, Tally, float]:
    path = "/cgi-bin/echo" if args.method == "POST" else "/version"
    slot_switch(driver, host, targets[0])
    time.sleep(0.5)
    done = 0
    started = time.monotonic()
    with Traffic(host, path=path, method=args.method, rate=args.rate, clients=args.clients,
                 max_requests=args.max_requests, max_seconds=args.max_seconds) as traffic:
        time.sleep(0.5)
        while done < switches and traffic.running:
            switch(driver, host, targets[(done + 1) % 2])
            done += 1
        time.sleep(0.5)
    return done, traffic.tally, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="proxybench")
    parser.add_argument("--switches", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--method", choices=("GET", "POST"), default="GET")
    parser.add_argument("--max-requests", type=int, default=60_000)
    parser.add_argument("--max-seconds", type=float, default=240.0)
    args = parser.parse_args()

    sandbox = Sandbox.find(args.sandbox)
    host = sandbox.hosts[0].address
    with SshExecutor(SshSettings(config=str(sandbox.ssh_config))) as executor:
        driver = CaddyDriver(executor, sandbox.proxy_image)
        driver.boot(host)
        targets = start_apps(driver, sandbox, host)
        results = {}
        try:
            for name, switch in (("slots (kamalnb)", slot_switch), ("reload per switch", reload_switch)):
                driver.remove_route(host, ROUTE.id)
                results[name] = storm(driver, host, targets, args.switches, switch, args)
        finally:
            driver.remove_route(host, ROUTE.id)
            executor.run(host, Command.from_argv(["docker", "rm", "-f", "proxybench-v1", "proxybench-v2"]))

    print(f"{args.method} requests at about {args.rate:.0f}/s from {args.clients} clients "
          f"(half kept alive), Caddy image {sandbox.proxy_image}, host {host}")
    print(f"{'mechanism':<20} {'switches':>9} {'requests':>9} {'failures':>9} {'seconds':>8}  failures by kind")
    for name, (switches, tally, seconds) in results.items():
        kinds = ", ".join(f"{count}x {kind}" for kind, count in tally.failures.most_common(3)) or "-"
        print(f"{name:<20} {switches:>9} {tally.requests:>9} {tally.failed:>9} {seconds:>8.1f}  {kinds}")
    bodies = {name: sorted(tally.answers) for name, (_, tally, _) in results.items()}
    print(f"whole answers seen: {bodies}")


if __name__ == "__main__":
    main()
