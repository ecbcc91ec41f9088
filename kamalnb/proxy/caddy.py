"""The Caddy proxy driver: boots Caddy in a container on each host and switches routes
through its admin API, reached over an SSH tunnel (no tool needed on the host)."""

from __future__ import annotations

import json
import time
from typing import Any

from kamalnb import facts
from kamalnb.commands.base import Command, HttpRequest
from kamalnb.errors import HostError, HostUnreachable
from kamalnb.executors.base import Executor, HttpResponse
from kamalnb.proxy import caddy_config as cc
from kamalnb.proxy.base import Certificate, Route, RouteState
from kamalnb.sensitive import Secret

ADMIN_READY_TIMEOUT = 15.0
POLL_INTERVAL = 0.05
CERTIFICATE_POLL_INTERVAL = 1.0
# Reading the proxy's log for failed attempts costs more than looking for the certificate.
FAILURE_CHECK_EVERY = 3


class CaddyDriver:
    def __init__(self, executor: Executor, image: str, *, http_port: int = 80, https_port: int = 443) -> None:
        self.executor = executor
        self.image = image
        self.http_port = http_port
        self.https_port = https_port
        # (host, previous target) -> the slot upstream whose requests in flight draining counts.
        self._draining: dict[tuple[str, str], str] = {}

    # ---- the container -----------------------------------------------------------------

    def refuse_kamal_proxy(self, host: str) -> None:
        """One clear line when `host` runs Kamal's kamal-proxy rather than kamalnb's Caddy."""
        if self.executor.read(host, facts.container_state(cc.KAMAL_PROXY_CONTAINER, cc.kamal_proxy_running(),
                                                            "kamal_proxy_running", all_states=False)):
            raise HostError(
                host,
                "runs Kamal's kamal-proxy, which holds ports 80 and 443; kamalnb drives Caddy. "
                "Remove it with `kamal proxy remove` first, or keep deploying this host with Kamal",
            )

    def boot(self, host: str) -> None:
        self.refuse_kamal_proxy(host)
        self.executor.change(host, cc.engine_ensure_network())
        state = self.executor.read(host, facts.container_state(cc.CONTAINER, cc.container_state(), "proxy_state"))
        if state == "running":
            return
        if state:
            self.executor.run(host, cc.docker("start", cc.CONTAINER))
        else:
            self.executor.run(host, Command.from_argv(("mkdir", "-p", cc.CONFIG_DIR, cc.DATA_DIR)))
            # Routes and certificates kept from an earlier proxy on this host (removed, then booted again).
            saved = self.executor.read(host, facts.Read("proxy_saved_routes", cc.read_saved_routes(),
                                                        lambda r: cc.parse_saved_routes(r.check().stdout)))
            config = cc.base_config(routes=saved, certificates=list(self.certificates(host).values()))
            self.executor.upload(host, json.dumps(config, indent=2), cc.CONFIG_FILE, mode=0o644)
            options = self.boot_config_get(host)
            http_port = int(options.get("http_port", self.http_port))
            https_port = int(options.get("https_port", self.https_port))
            self.executor.run(host, cc.run_command(
                self.image, http_port, https_port,
                publish=bool(options.get("publish", True)), log_max_size=options.get("log_max_size"),
                docker_options=tuple(options.get("docker_options") or ())))
        self._wait_for_admin(host)
        # A proxy from an older kamalnb resumes its configuration, with no shutdown delay: one
        # reload, once, so that its next stop lets clients go first.
        app = self.executor.read(host, self._admin_read("proxy_http_app", cc.HTTP_APP_PATH, missing=()))
        if (app or {}).get("shutdown_delay") != cc.SHUTDOWN_DELAY:
            self._admin(host, "POST", f"{cc.HTTP_APP_PATH}/shutdown_delay", body=cc.SHUTDOWN_DELAY)

    def reboot(self, host: str, drain_timeout: int) -> None:
        """Replace the proxy container (Kamal's stop, remove, run). The old one finishes the
        requests in flight first, for up to `drain_timeout` seconds, while refusing new
        connections; the new one answers with every route (`boot`) before this returns."""
        self.refuse_kamal_proxy(host)
        # As Kamal, a proxy that is not there (or already stopped) is not an error here.
        self.executor.run(host, cc.stop(drain_timeout), check=False)
        self.executor.run(host, cc.docker("rm", "--force", cc.CONTAINER))
        self.boot(host)

    def start(self, host: str) -> None:
        self.refuse_kamal_proxy(host)
        self.executor.run(host, cc.docker("start", cc.CONTAINER))
        self._wait_for_admin(host)

    def stop(self, host: str) -> None:
        self.refuse_kamal_proxy(host)
        self.executor.run(host, cc.docker("stop", cc.CONTAINER))

    def restart(self, host: str) -> None:
        self.refuse_kamal_proxy(host)
        self.executor.run(host, cc.docker("restart", cc.CONTAINER))
        self._wait_for_admin(host)

    def remove(self, host: str) -> None:
        """The container, its volumes and its seed configuration; each app's route and slot
        files stay, so that `boot` afterwards serves every app again (an app's own removal
        takes its route with it: `remove_route`)."""
        self.refuse_kamal_proxy(host)
        self.executor.run(host, cc.docker("rm", "--force", cc.CONTAINER))
        self.executor.run(host, cc.docker("volume", "rm", "--force", *cc.VOLUMES))
        self.executor.run(host, Command.from_argv(("rm", "-f", cc.CONFIG_FILE)))

    def purge(self, host: str) -> None:
        """`remove`, and every route's configuration and slot files too."""
        self.remove(host)
        self.executor.run(host, Command.from_argv(("rm", "-rf", cc.CONFIG_DIR)))

    def boot_config_get(self, host: str) -> dict[str, Any]:
        """How the next proxy container is run (`boot_config_set`); empty for the defaults."""
        return self.executor.read(host, facts.Read("proxy_options", cc.read_options(),
                                                   lambda r: cc.parse_options(r.check().stdout)))

    def boot_config_set(self, host: str, options: dict[str, Any]) -> None:
        """Kept on the host for the next `boot` (or `reboot`), as Kamal's `proxy boot_config set`."""
        unknown = sorted(set(options) - set(cc.BOOT_OPTIONS))
        if unknown:
            raise HostError(host, f"unknown proxy boot options {unknown}; known: {', '.join(cc.BOOT_OPTIONS)}")
        self.executor.run(host, Command.from_argv(("mkdir", "-p", cc.CONFIG_DIR)))
        self.executor.upload(host, json.dumps(options), cc.OPTIONS_FILE)

    def boot_config_reset(self, host: str) -> None:
        self.executor.run(host, Command.from_argv(("rm", "-f", cc.OPTIONS_FILE)))

    def details(self, host: str) -> str:
        self.refuse_kamal_proxy(host)
        return self.executor.run(host, cc.docker("ps", "--filter", f"name=^{cc.CONTAINER}$")).stdout

    def logs(self, host: str, lines: int = 100, *, since: str | None = None, grep: str | None = None) -> str:
        """The last `lines` log lines (`since` a time or duration, as `docker logs --since`),
        only those containing `grep` if given."""
        self.refuse_kamal_proxy(host)
        argv = ["logs", "--tail", str(lines), *(("--since", since) if since else ()), cc.CONTAINER]
        result = self.executor.run(host, cc.docker(*argv))
        text = result.stdout + result.stderr
        if grep:
            text = "".join(line for line in text.splitlines(keepends=True) if grep in line)
        return text

    # ---- routes ------------------------------------------------------------------------

    def switch(self, host: str, route: Route, target: str) -> str | None:
        """Point `route` at `target` (`<container id>:<port>`) by flipping its slot files;
        Caddy's configuration changes only when the route is new or its matchers changed."""
        current = self.executor.read(host, self._admin_read("proxy_route", f"/id/{route.id}", missing=(404,)))
        slots = self._slots(host).get(route.id, {})
        live = slots.get(cc.LIVE)
        previous = slots.get(live) if live in cc.SLOTS else None
        self.executor.upload(host, target, cc.next_file(route.id))
        self.executor.run(host, cc.switch_slots(route.id))
        if current is None or current != cc.route_config(route):
            self.executor.upload(host, json.dumps(cc.route_config(route)), cc.saved_route_file(route.id))
        if current is None:
            self._add_route(host, cc.route_config(route))
        elif current != cc.route_config(route):
            # A route from an older kamalnb, or new host names or path: one reload, once.
            self._admin(host, "PATCH", f"/id/{route.id}", body=cc.route_config(route))
        previous = previous or None
        if previous and previous != target and live in cc.SLOTS:
            self._draining[(host, previous)] = cc.slot_upstream(route.id, live)
            return previous
        return None

    def settle(self, host: str, route: Route, target: str) -> None:
        self.executor.run(host, cc.settle_idle_slot(route.id))

    def _add_route(self, host: str, route_config: dict[str, Any]) -> None:
        # More specific routes go first (host names, then longer path prefixes), so that a
        # catch-all never shadows another app's routes on the same proxy, whatever the order
        # the apps were deployed in.
        order = cc.route_order(cc.route_from_config(route_config))
        configs = self.executor.read(host, self._admin_read("proxy_routes", cc.ROUTES_PATH, missing=(400, 404)))
        index = next((i for i, config in enumerate(configs or [])
                      if cc.route_order(cc.route_from_config(config)) > order), None)
        if index is None:
            self._admin(host, "POST", cc.ROUTES_PATH, body=route_config)
        else:
            self._admin(host, "PUT", f"{cc.ROUTES_PATH}/{index}", body=route_config)

    def wait_drained(self, host: str, upstream: str, timeout: float) -> bool:
        """Until `upstream` has no request in flight; False if the timeout came first."""
        key = self._draining.get((host, upstream)) or self._slot_of(host, upstream)
        deadline = time.monotonic() + timeout
        while True:
            if key is None or self._in_flight(host).get(key, 0) == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL)

    def maintenance(self, host: str, route: Route, page: str | None) -> None:
        """With a `page`, every new request of `route` gets 503 and that page; with None,
        the route serves its container again. Requests in flight finish; nothing reloads
        (unless the route was made by an older kamalnb, which one reload updates)."""
        current = self.executor.read(host, self._admin_read("proxy_route", f"/id/{route.id}", missing=(404,)))
        if current is None:
            raise HostError(host, f"no route `{route.id}` on this host's proxy: deploy the app first")
        if page is not None:
            self.executor.upload(host, page, cc.page_file(route.id))
        self.executor.run(host, cc.set_maintenance(route.id, page is not None))
        if current != cc.route_config(route):
            self.executor.upload(host, json.dumps(cc.route_config(route)), cc.saved_route_file(route.id))
            self._admin(host, "PATCH", f"/id/{route.id}", body=cc.route_config(route))

    def claims(self, host: str) -> list[Route]:
        """The routes the proxy on `host` serves (none when it does not run)."""
        try:
            configs = self.executor.read(host, self._admin_read("proxy_routes", cc.ROUTES_PATH, missing=(400, 404)))
        except HostUnreachable:
            raise
        except HostError:
            self.refuse_kamal_proxy(host)
            return []  # no proxy answers there yet
        return [cc.route_from_config(config) for config in configs or []]

    def remove_route(self, host: str, route_id: str) -> None:
        self._admin(host, "DELETE", f"/id/{route_id}", allow=(404,))
        if route_id in self.certificates(host):
            self.set_certificate(host, route_id, None)
        self.executor.run(host, cc.remove_slots(route_id))

    # ---- certificates ------------------------------------------------------------------

    def certificates(self, host: str) -> dict[str, Certificate]:
        """Each HTTPS route's `Certificate` on `host`."""
        return self.executor.read(host, facts.Read("proxy_certificates", cc.read_certificates(),
                                                   lambda r: cc.parse_certificates(r.stdout)))

    def set_certificate(self, host: str, route_id: str, certificate: Certificate | None) -> None:
        """Serve `route_id`'s names on 443 with `certificate` (None: no more). Caddy's
        configuration changes (one reload) only when the certificates of the host changed:
        a redeploy with the same certificate reloads nothing."""
        if certificate is None:
            self.executor.run(host, cc.remove_certificate(route_id))
        else:
            self.executor.run(host, Command.from_argv(("mkdir", "-p", cc.TLS_DIR, cc.ROUTES_DIR)))
            self.executor.upload(host, cc.certificate_json(certificate), cc.certificate_file(route_id), mode=0o600)
        current = self.executor.read(host, self._admin_read("proxy_config", "/config/", missing=()))
        wanted = cc.with_tls(current or cc.base_config(), list(self.certificates(host).values()))
        if wanted != current:
            self._admin(host, "POST", "/load", body=wanted)
        challenges_id = route_id + cc.CHALLENGES_SUFFIX
        existing = self.executor.read(host, self._admin_read("proxy_route", f"/id/{challenges_id}", missing=(404,)))
        if certificate is not None and certificate.challenges_to:
            config = cc.challenges_route(route_id, certificate.names, certificate.challenges_to)
            if existing != config:
                self.executor.upload(host, json.dumps(config), cc.saved_route_file(challenges_id))
                if existing is None:
                    self._add_route(host, config)
                else:
                    self._admin(host, "PATCH", f"/id/{challenges_id}", body=config)
        elif existing is not None:
            self._admin(host, "DELETE", f"/id/{challenges_id}", allow=(404,))
            self.executor.run(host, Command.from_argv(("rm", "-f", cc.saved_route_file(challenges_id))))

    def served_certificates(self, host: str) -> list[tuple[str, str, str, str | None]]:
        """(route, name, where it comes from, PEM or None) for each name served over HTTPS."""
        self.refuse_kamal_proxy(host)
        found: list[tuple[str, str, str, str | None]] = []
        for route_id, certificate in sorted(self.certificates(host).items()):
            for index, name in enumerate(certificate.names):
                if certificate.acme_ca:
                    found.append((route_id, name, f"ACME {certificate.acme_ca}",
                                  self.obtained_certificate(host, certificate.acme_ca, name)))
                elif certificate.files:
                    source = f"copy from {certificate.challenges_to}" if certificate.challenges_to else "custom"
                    path = certificate.files[min(index, len(certificate.files) - 1)][0]
                    found.append((route_id, name, source, self._certificate(host, cc.read_file(path))))
                else:
                    found.append((route_id, name, f"waiting for {certificate.challenges_to}", None))
        return found

    def place_certificate(self, host: str, route_id: str, name: str, certificate_pem: str,
                          key_pem: Secret) -> tuple[str, str]:
        """Put a certificate and its key on `host` (mode 0600) for `set_certificate` to load."""
        certificate_path, key_path = cc.placed_files(route_id, name)
        self.executor.run(host, Command.from_argv(("mkdir", "-p", certificate_path.rsplit("/", 1)[0])))
        self.executor.upload(host, certificate_pem, certificate_path, mode=0o600)
        self.executor.upload(host, key_pem, key_path, mode=0o600)
        return certificate_path, key_path

    def obtained_certificate(self, host: str, acme_ca: str, name: str) -> str | None:
        """The certificate Caddy on `host` holds for `name` from `acme_ca`; None when none yet."""
        return self._certificate(host, cc.read_file(cc.obtained_files(acme_ca, name)[0], in_proxy=True))

    def obtained_key(self, host: str, acme_ca: str, name: str) -> Secret:
        """The private key of that certificate, never shown in events or reports."""
        path = cc.obtained_files(acme_ca, name)[1]
        text = self.executor.run(host, cc.read_file(path, private=True, in_proxy=True)).stdout
        if "PRIVATE KEY-----" not in text:
            raise HostError(host, f"the proxy holds no private key for {name} ({path})")
        return Secret(text)

    def _certificate(self, host: str, read: Command) -> str | None:
        text = self.executor.run(host, read).stdout
        return text if "-----BEGIN CERTIFICATE-----" in text else None

    def wait_for_certificate(self, host: str, acme_ca: str, name: str, timeout: float) -> str:
        """The certificate Caddy on `host` obtained for `name` from `acme_ca` (in its data),
        once there. A HostError with the CA's answer as soon as an attempt failed (Caddy keeps
        trying in the background, so a later deploy finds it), or when `timeout` passed."""
        known = len(self._acme_failures(host, name))
        deadline = time.monotonic() + timeout
        polls = 0
        while True:
            pem = self.obtained_certificate(host, acme_ca, name)
            if pem is not None:
                return pem
            polls += 1
            failures = self._acme_failures(host, name) if polls % FAILURE_CHECK_EVERY == 0 else []
            if len(failures) > known or time.monotonic() >= deadline:
                complaint = failures[-1] if len(failures) > known else (
                    f"none after {timeout:.0f}s" + (f"; Caddy's last complaint: {failures[-1]}" if failures else ""))
                raise HostError(host, f"no certificate for {name} from {acme_ca}: {complaint}. The CA must reach "
                                      f"this host (or another of the role) on port 80 at {name}: check the name's "
                                      "DNS records and the firewall")
            time.sleep(CERTIFICATE_POLL_INTERVAL)

    def _acme_failures(self, host: str, name: str) -> list[str]:
        """The CA's answers to Caddy's failed attempts at a certificate for `name`, oldest first."""
        found = []
        for line in self.logs(host, 500, grep=name).splitlines():
            try:
                entry = json.loads(line[line.index("{"):])
            except ValueError:
                continue
            if entry.get("msg") == "could not get certificate from issuer" and entry.get("identifier") == name:
                found.append(str(entry.get("error", "")))
        return found

    def routes(self, host: str) -> list[RouteState]:
        configs = self.executor.read(host, self._admin_read("proxy_routes", cc.ROUTES_PATH, missing=(400, 404)))
        slots = self._slots(host)
        in_flight = self._in_flight(host)
        states = []
        for config in configs or []:
            route_id = config.get("@id", "")
            if route_id.endswith(cc.CHALLENGES_SUFFIX):
                continue
            files = slots.get(route_id, {})
            live = files.get(cc.LIVE)
            order = [live] + [s for s in cc.SLOTS if s != live] if live in cc.SLOTS else []
            # A settled route has the live target in both slots: it is listed once, with the live slot's count.
            served: dict[str, str] = {}
            for slot in order:
                if files.get(slot):
                    served.setdefault(files[slot], cc.slot_upstream(route_id, slot))
            states.append(RouteState(
                id=route_id, hosts=cc.route_hosts(config), upstreams=tuple(served),
                in_flight={target: in_flight.get(key, 0) for target, key in served.items()},
                maintenance=files.get(cc.MAINTENANCE) == "on",
            ))
        return states

    def targets(self, host: str, route_id: str) -> tuple[str, ...]:
        files = self._slots(host).get(route_id, {})
        live = files.get(cc.LIVE)
        order = [live] + [s for s in cc.SLOTS if s != live] if live in cc.SLOTS else []
        return tuple(dict.fromkeys(files[slot] for slot in order if files.get(slot)))

    def _slots(self, host: str) -> dict[str, dict[str, str]]:
        return self.executor.read(host, facts.Read("proxy_slots", cc.read_slots(), lambda r: cc.parse_slots(r.stdout)))

    def _slot_of(self, host: str, upstream: str) -> str | None:
        for route_id, files in self._slots(host).items():
            for slot in cc.SLOTS:
                if files.get(slot) == upstream:
                    return cc.slot_upstream(route_id, slot)
        return None

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
