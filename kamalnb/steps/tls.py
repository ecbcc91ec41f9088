"""HTTPS for the roles whose proxy has `ssl`: checked before anything changes on a host, then
each host's certificate in place before the app boots (`kamalnb.state.proxy` lists them).

`ssl: true` on one host: that host's proxy obtains the certificate by ACME and renews it.
On several hosts (`x-kamalnb: proxy: shared_certificate`): the role's first host obtains it
(the others pass it the CA's HTTP-01 challenges, whichever host the CA reaches), then kamalnb
copies certificate and key to the others, on every deploy whose first host has a newer one.
A custom certificate (`ssl: {certificate_pem, private_key_pem}`) goes to every host as given.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamalnb.commands.base import Command
from kamalnb.errors import ConfigError
from kamalnb.events import Phase
from kamalnb.proxy import caddy_config as cc
from kamalnb.proxy.base import Certificate
from kamalnb.results import Report, StepRecorder
from kamalnb.sensitive import Secret
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kamalnb.config import Accessory, Role
    from kamalnb.proxy import CaddyDriver

# Let's Encrypt answers within seconds; this leaves room for its retries.
ISSUE_TIMEOUT = 120.0
CA_CHECK_TIMEOUT = 10.0


@dataclass(frozen=True)
class Https:
    """What one role with `proxy.ssl` needs: its route, names, hosts, and either a custom
    certificate or the host whose proxy obtains it by ACME."""

    role: Role
    route_id: str
    names: tuple[str, ...]
    hosts: tuple[str, ...]
    issuer_host: str
    custom: tuple[str, Secret] | None = None


def roles(context: StepContext) -> list[Https]:
    """The selected roles with `proxy.ssl`, each with its selected hosts."""
    found = []
    for role in context.config.specifics.roles:
        proxy = role.proxy
        if not (role.running_proxy and proxy is not None and proxy.ssl):
            continue
        hosts = tuple(host for host, other in context.config.specifics.role_hosts if other is role)
        custom = None
        if proxy.custom_ssl_certificate:
            certificate, key = proxy.certificate_pem_content, proxy.private_key_pem_content
            assert certificate is not None and key is not None
            custom = (certificate.reveal(), key)
        found.append(Https(role, role.container_prefix, tuple(proxy.hosts), hosts, role.hosts[0], custom))
    return found


def check(context: StepContext) -> list[Https]:
    """Refuse, before anything changes, what would deploy without HTTPS answering: no host
    name, a custom certificate that is missing, unreadable, not the key's, expired or not for
    the names, a CA root file that is not there, a CA that does not answer."""
    refuse_accessories(context.config.accessories)
    wanted = roles(context)
    for https in wanted:
        where = f"role {https.role.name}"
        if not https.names:
            raise ConfigError(f"proxy/ssl ({where}): HTTPS needs the names to serve: set `proxy.host` (or `hosts`)")
        if https.custom is not None:
            _check_custom(where, https)
    if any(https.custom is None for https in wanted):
        root = ca_root_path(context)
        if root is not None and not root.is_file():
            raise ConfigError(f"x-kamalnb/proxy/acme_ca_root: {root} is not a file; give the PEM file of the root "
                              f"certificate that {context.extension.acme_ca} is served with")
        # A plan runs nothing, so it needs no CA.
        if not context.plan:
            _check_ca(context, root)
    return wanted


def refuse_accessories(accessories: Iterable[Accessory]) -> None:
    """Accessories' routes are plain HTTP: one with `proxy.ssl` is refused rather than
    deployed with nothing for its names on port 443."""
    names = [a.name for a in accessories if a.running_proxy and a.proxy is not None and a.proxy.ssl]
    if names:
        raise ConfigError(f"accessories/{names[0]}/proxy/ssl: kamalnb serves accessories over plain HTTP only "
                          f"({', '.join(names)}); remove `ssl` there, or serve it through an app role's proxy")


def _check_custom(where: str, https: Https) -> None:
    from kamalnb.proxy.certificates import covers, inspect, matches_key

    certificate, key = https.custom or ("", Secret(""))
    try:
        info = inspect(certificate)
    except ValueError:
        raise ConfigError(f"proxy/ssl/certificate_pem ({where}): the secret holds no PEM certificate; put the "
                          "certificate (`-----BEGIN CERTIFICATE-----` ...) in .kamal/secrets") from None
    try:
        paired = matches_key(certificate, key.reveal())
    except (ValueError, TypeError):
        raise ConfigError(f"proxy/ssl/private_key_pem ({where}): the secret holds no unencrypted PEM private "
                          "key; put the key (`-----BEGIN PRIVATE KEY-----` ...) in .kamal/secrets") from None
    if not paired:
        raise ConfigError(f"proxy/ssl ({where}): the private key is not the certificate's; give the key the "
                          "certificate was made for")
    if info.not_after <= datetime.now(UTC):
        raise ConfigError(f"proxy/ssl/certificate_pem ({where}): the certificate expired on "
                          f"{info.not_after:%Y-%m-%d}; renew it")
    uncovered = [name for name in https.names if not covers(info, name)]
    if uncovered:
        raise ConfigError(f"proxy/ssl/certificate_pem ({where}): the certificate is for {', '.join(info.names)}, "
                          f"not for {', '.join(uncovered)}; give a certificate for every `proxy.host`")


def ca_root_path(context: StepContext) -> Path | None:
    root = context.extension.acme_ca_root
    return None if root is None else (context.config.root / root)


def _check_ca(context: StepContext, root: Path | None) -> None:
    """The ACME directory answers from here, over HTTPS trusting `root` if given."""
    url = context.extension.acme_ca
    try:
        tls = ssl.create_default_context(cafile=str(root) if root else None)
        with urllib.request.urlopen(url, timeout=CA_CHECK_TIMEOUT, context=tls) as response:
            directory: Any = json.loads(response.read())
        if "newOrder" not in directory:
            raise ValueError("no newOrder in its answer")
    except (OSError, ValueError, ssl.SSLError) as error:
        reason = getattr(error, "reason", None) or error
        raise ConfigError(f"x-kamalnb/proxy/acme_ca: the ACME CA at {url} does not answer as one ({reason}); "
                          "check the URL, this machine's network, and `acme_ca_root` for a private CA") from None


# ---- putting the certificates in place ----------------------------------------------------


def renew(context: StepContext) -> Report:
    """Under the deploy lock, what a deploy does for HTTPS without booting anything: a
    certificate the first host renewed copied to the others, a changed custom one uploaded."""
    from kamalnb.steps import lock
    from kamalnb.steps.proxy import driver

    wanted = check(context)
    if not wanted:
        raise ConfigError("No role has `proxy.ssl`: there is no certificate to renew")
    proxy = driver(context)
    hosts = list(dict.fromkeys(host for https in wanted for host in (https.issuer_host, *https.hosts)))
    context.parallel(hosts, proxy.refuse_kamal_proxy).check("Looking for kamalnb's proxy")
    with lock.held(context):
        report = ensure(context, proxy, wanted)
    assert report is not None
    return report



def forget(context: StepContext, driver: CaddyDriver, wanted: list[Https]) -> None:
    """A role whose proxy no longer has `ssl` stops being served on 443 (and its certificate
    stops being renewed) on the hosts it is deployed to."""
    kept = {https.route_id for https in wanted}
    routes: dict[str, list[str]] = {}
    for host, role in context.config.specifics.role_hosts:
        if role.running_proxy and role.container_prefix not in kept:
            routes.setdefault(host, []).append(role.container_prefix)

    # One host's routes one after the other: each change rewrites that proxy's configuration.
    def forget_on(host: str) -> None:
        placed = driver.certificates(host)
        for route_id in routes[host]:
            if route_id in placed:
                driver.set_certificate(host, route_id, None)

    context.parallel(list(routes), forget_on).check("Removing certificates of routes without ssl")


def ensure(context: StepContext, driver: CaddyDriver, wanted: list[Https]) -> Report | None:
    """Each HTTPS role's certificate on each of its hosts; a host whose certificate is
    current is left alone (no reload)."""
    if not wanted:
        return None
    hosts = list(dict.fromkeys(host for https in wanted for host in https.hosts))
    recorder = StepRecorder("certificates", context.events, hosts, planned=context.plan)
    for https in wanted:
        if https.custom is not None:
            def custom(host: str, https: Https = https) -> None:
                _custom(driver, https, host, recorder)

            recorder.absorb(context.parallel(list(https.hosts), custom))
        else:
            _acme(context, driver, https, recorder)
    return recorder.finish().raise_on_failure()


def _custom(driver: CaddyDriver, https: Https, host: str, recorder: StepRecorder) -> None:
    from kamalnb.proxy.certificates import inspect

    certificate, key = https.custom or ("", Secret(""))
    fingerprint = inspect(certificate).fingerprint
    with recorder.host(host, Phase.PROXY, role=https.role.name):
        current = driver.certificates(host).get(https.route_id)
        if current is not None and current.fingerprint == fingerprint and current.names == https.names:
            return
        files = driver.place_certificate(host, https.route_id, https.names[0], certificate, key)
        driver.set_certificate(host, https.route_id, Certificate(https.names, files=(files,), fingerprint=fingerprint))


def _acme(context: StepContext, driver: CaddyDriver, https: Https, recorder: StepRecorder) -> None:
    from kamalnb.proxy.certificates import inspect

    ca = context.extension.acme_ca
    issuer = https.issuer_host
    others = [host for host in https.hosts if host != issuer]
    # The others first pass the challenges on, so the CA may reach any host of the role.
    recorder.absorb(context.parallel(others, lambda host: _forward(driver, https, host, recorder)))
    if not recorder.report.ok:
        return
    root = ca_root_path(context)
    obtained: dict[str, str] = {}
    with recorder.host(issuer, Phase.PROXY, role=https.role.name):
        root_file = None
        if root is not None:
            root_file = cc.ca_root_file(https.route_id)
            context.executor.run(issuer, Command.from_argv(("mkdir", "-p", root_file.rsplit("/", 1)[0])))
            context.executor.upload(issuer, root, root_file)
        driver.set_certificate(issuer, https.route_id, Certificate(https.names, acme_ca=ca, acme_ca_root=root_file))
        if context.plan:
            return
        obtained = {name: driver.wait_for_certificate(issuer, ca, name, ISSUE_TIMEOUT) for name in https.names}
    if not obtained or not others:
        return
    fingerprint = ",".join(inspect(pem).fingerprint for pem in obtained.values())
    current = context.parallel(others, lambda host: driver.certificates(host).get(https.route_id))
    recorder.absorb(current)
    stale = [host for host, placed in current.results.items() if placed is None or placed.fingerprint != fingerprint]
    if not stale:
        return
    keys: dict[str, Secret] = {}
    with recorder.host(issuer, Phase.PROXY, role=https.role.name):
        keys = {name: driver.obtained_key(issuer, ca, name) for name in https.names}

    def copy(host: str) -> None:
        with recorder.host(host, Phase.PROXY, role=https.role.name):
            files = tuple(driver.place_certificate(host, https.route_id, name, obtained[name], keys[name])
                          for name in https.names)
            driver.set_certificate(host, https.route_id, Certificate(
                https.names, files=files, fingerprint=fingerprint, challenges_to=issuer))

    if keys:
        recorder.absorb(context.parallel(stale, copy))


def _forward(driver: CaddyDriver, https: Https, host: str, recorder: StepRecorder) -> None:
    with recorder.host(host, Phase.PROXY, role=https.role.name):
        current = driver.certificates(host).get(https.route_id)
        if current is not None and current.challenges_to == https.issuer_host and current.names == https.names:
            return
        # A copy already there keeps being served until the new one replaces it.
        files, fingerprint = (current.files, current.fingerprint) if current is not None else ((), "")
        driver.set_certificate(host, https.route_id, Certificate(
            https.names, files=files, fingerprint=fingerprint, challenges_to=https.issuer_host))
