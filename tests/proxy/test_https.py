"""HTTPS for real, against the sandbox's ACME CA (pebble, Let's Encrypt's test server, and
its DNS server): a certificate obtained on one host, one certificate shared by three hosts,
the HTTP->HTTPS redirect, certificates kept across `proxy reboot`, a custom certificate
served as given, and bad input refused before anything changes."""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import kamalnb
from kamalnb.commands.base import Command
from kamalnb.errors import ConfigError, StepFailed
from kamalnb.events import Events
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.proxy import CaddyDriver
from kamalnb.sandbox import Sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(900)]

GIT = ["git", "-c", "user.name=Test Deployer", "-c", "user.email=deployer@example.test"]
SERVICES = ("secure", "shared", "custom", "refused")


class Project:
    def __init__(self, sandbox: Sandbox, root: Path, service: str, hosts: list[str], names: list[str],
                 ssl_setting: object = True, kamalnb: dict | None = None, secrets: str = "") -> None:
        self.path = root / service
        subprocess.run([*GIT, "clone", "-q", str(sandbox.app_dir), str(self.path)], check=True)
        (self.path / ".kamal" / "hooks").mkdir(parents=True, exist_ok=True)
        (self.path / ".kamal" / "secrets").write_text((sandbox.app_dir / ".kamal" / "secrets").read_text() + secrets)
        config_file = self.path / "config" / "deploy.yml"
        data = yaml.safe_load(config_file.read_text())
        data["service"], data["image"] = service, f"{service}/app"
        data["servers"] = {"web": {"hosts": hosts}}
        data.pop("accessories")
        data["proxy"].update(hosts=names, ssl=ssl_setting)
        data["x-kamalnb"]["proxy"].update(kamalnb or {})
        config_file.write_text(yaml.safe_dump(data, sort_keys=False))
        subprocess.run([*GIT, "commit", "-q", "-am", f"{service} over HTTPS"], cwd=self.path, check=True)
        self.version = subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.path, capture_output=True, text=True,
                                      check=True).stdout.strip()

    def load(self) -> kamalnb.App:
        return kamalnb.load(self.path / "config" / "deploy.yml", root=self.path)


def https_get(address: str, name: str, root: str, path: str = "/version") -> tuple[str, int, str]:
    """(SHA-256 fingerprint of the certificate served for `name`, status, body), the
    certificate verified against `root` for `name`."""
    context = ssl.create_default_context(cadata=root)
    with socket.create_connection((address, 443), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        response = http.client.HTTPResponse(tls)  # type: ignore[arg-type]
        response.begin()
        body = response.read().decode().strip()
    return hashlib.sha256(der).hexdigest(), response.status, body


def http_get(address: str, name: str, path: str = "/version") -> tuple[int, str | None, str]:
    connection = http.client.HTTPConnection(address, 80, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": name})
        response = connection.getresponse()
        return response.status, response.getheader("Location"), response.read().decode().strip()
    finally:
        connection.close()


def proxy_loads(sandbox: Sandbox, host: str) -> int:
    """How many times Caddy on `host` loaded a configuration (its start included)."""
    logs = sandbox.host_docker(sandbox.host(host).name, "logs", "kamalnb-proxy")
    return (logs.stdout + logs.stderr).count('"load complete"')


@pytest.fixture(scope="module")
def fleet(sandbox):
    acme = sandbox.acme()
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)))
    driver = CaddyDriver(executor, sandbox.proxy_image)
    hosts = [host.address for host in sandbox.hosts]

    def clean() -> None:
        for host in hosts:
            for service in SERVICES:
                executor.run(host, Command((f"docker ps -aq --filter label=service={service} | xargs -r docker rm -f",
                                            f"; rm -rf .kamal/apps/{service} .kamal/lock-{service}")), check=False)
            driver.purge(host)

    clean()
    yield acme, driver, hosts
    clean()
    executor.close()


def ca_settings(acme) -> dict:
    return {"acme_ca": acme.directory, "acme_ca_root": str(acme.ca_root)}


def test_a_certificate_from_the_ca_on_one_host_redirected_to_and_kept_across_reboots(sandbox, fleet,
                                                                                      tmp_path) -> None:
    acme, _driver, hosts = fleet
    host = hosts[0]
    acme.point("secure.test", host)
    project = Project(sandbox, tmp_path, "secure", [host], ["secure.test"], kamalnb=ca_settings(acme))
    app = project.load()
    assert app.deploy(ui="quiet").ok

    root = acme.issuing_root()
    fingerprint, status, body = https_get(host, "secure.test", root)
    assert (status, body) == (200, project.version)
    # Plain HTTP is redirected to HTTPS, path and query kept.
    assert http_get(host, "secure.test", "/version?x=1") == (308, "https://secure.test/version?x=1", "")

    certs = app.proxy.certs()
    assert list(certs["host"]) == [host] and list(certs["name"]) == ["secure.test"]
    assert list(certs["source"]) == [f"ACME {acme.directory}"]
    assert certs["fingerprint"][0].replace(":", "").lower() == fingerprint
    assert certs["issuer"][0].startswith("Pebble Intermediate CA")
    assert certs["days_left"][0] > 300

    printed = subprocess.run([sys.executable, "-m", "kamalnb", "proxy", "certs"], cwd=project.path,
                             capture_output=True, text=True, check=True).stdout
    assert "secure.test" in printed and certs["fingerprint"][0] in printed

    # Kept across a reboot of the proxy, its removal then boot, and a redeploy: the same
    # certificate, not a new one.
    assert app.proxy.reboot(confirm=True, ui="quiet").ok
    assert https_get(host, "secure.test", root)[:2] == (fingerprint, 200)
    assert app.proxy.remove(ui="quiet").ok and app.proxy.boot(ui="quiet").ok
    assert https_get(host, "secure.test", root)[:2] == (fingerprint, 200)
    assert http_get(host, "secure.test")[0] == 308
    assert app.redeploy(ui="quiet").ok
    assert https_get(host, "secure.test", root)[0] == fingerprint

    # Without `ssl` again: plain HTTP, and nothing for the name on 443.
    config_file = project.path / "config" / "deploy.yml"
    data = yaml.safe_load(config_file.read_text())
    data["proxy"].pop("ssl")
    config_file.write_text(yaml.safe_dump(data, sort_keys=False))
    assert project.load().redeploy(ui="quiet").ok
    assert http_get(host, "secure.test") == (200, None, project.version)
    with pytest.raises(ssl.SSLError):
        https_get(host, "secure.test", root)
    assert project.load().proxy.certs().empty


def test_one_certificate_on_three_hosts_whichever_host_the_ca_reaches(sandbox, fleet, tmp_path) -> None:
    acme, driver, hosts = fleet
    # The CA checks the challenge on the last host; the first host asked for the certificate.
    acme.point("shared.test", hosts[2])
    project = Project(sandbox, tmp_path, "shared", hosts, ["shared.test"],
                      kamalnb={**ca_settings(acme), "shared_certificate": True})
    app = project.load()
    seen: list = []
    report = app.deploy(ui="silent", events=Events(seen.append))
    assert report.ok
    # The key went from the first host to the others without showing in any event.
    assert not [event for event in seen if "PRIVATE KEY" in repr(event)]
    assert "PRIVATE KEY" not in repr(report) and "PRIVATE KEY" not in str(report.to_frame().to_dict())

    root = acme.issuing_root()
    served = [https_get(host, "shared.test", root) for host in hosts]
    assert {fingerprint for fingerprint, _, _ in served} == {served[0][0]}
    assert [(status, body) for _, status, body in served] == [(200, project.version)] * 3
    assert all(http_get(host, "shared.test")[0] == 308 for host in hosts)
    certs = app.proxy.certs()
    # Other apps' certificates on the same proxies are listed too, without a role of this app.
    certs = certs[certs["role"] == "web"]
    assert sorted(certs["host"]) == sorted(hosts)
    assert sorted(certs["source"]) == [f"ACME {acme.directory}", *[f"copy from {hosts[0]}"] * 2]
    assert set(certs["fingerprint"].str.replace(":", "").str.lower()) == {served[0][0]}
    # A redeploy finds every certificate current: Caddy's configuration is not even reloaded.
    loads = [proxy_loads(sandbox, host) for host in hosts]
    assert app.redeploy(ui="quiet").ok
    assert [proxy_loads(sandbox, host) for host in hosts] == loads
    # A renewal on the first host (here: its certificate gone, Caddy restarted, a new one
    # obtained) reaches the others with `proxy certs --renew`.
    driver.executor.run(hosts[0], Command(("rm", "-rf", ".kamal/proxy/kamalnb/data/caddy/certificates")))
    driver.restart(hosts[0])
    renewed = app.proxy.certs(renew=True, ui="quiet")
    renewed = renewed[renewed["role"] == "web"]
    assert len(set(renewed["fingerprint"])) == 1 and set(renewed["fingerprint"]) != set(certs["fingerprint"])
    assert {https_get(host, "shared.test", root)[0] for host in hosts} == {
        renewed["fingerprint"].iloc[0].replace(":", "").lower()}
    # The key went to the other hosts as files only the login user reads.
    modes = driver.executor.run(hosts[1], Command(("stat", "-c", "%a", ".kamal/proxy/kamalnb/tls/shared-web/*")))
    assert set(modes.stdout.split()) == {"600"}


def test_a_custom_certificate_is_served_as_given(sandbox, fleet, tmp_path) -> None:
    _acme, driver, hosts = fleet
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                    "/CN=custom.test", "-addext", "subjectAltName=DNS:custom.test",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    secrets = f"CUSTOM_CERT=$(cat {cert})\nCUSTOM_KEY=$(cat {key})\n"
    project = Project(sandbox, tmp_path, "custom", hosts[1:], ["custom.test"],
                      ssl_setting={"certificate_pem": "CUSTOM_CERT", "private_key_pem": "CUSTOM_KEY"},
                      secrets=secrets)
    app = project.load()
    assert app.deploy(ui="quiet").ok
    expected = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()
    for host in hosts[1:]:
        assert https_get(host, "custom.test", cert.read_text()) == (expected, 200, project.version)
        modes = driver.executor.run(host, Command(("stat", "-c", "%a", ".kamal/proxy/kamalnb/tls/custom-web/*")))
        assert set(modes.stdout.split()) == {"600"}
    certs = app.proxy.certs()
    certs = certs[certs["role"] == "web"]
    assert list(certs["source"]) == ["custom", "custom"] and list(certs["issuer"]) == ["custom.test"] * 2


def test_bad_input_is_refused_before_anything_changes(sandbox, fleet, tmp_path) -> None:
    acme, driver, hosts = fleet
    host = hosts[1]

    def refused(project: Project, match: str) -> None:
        with pytest.raises(ConfigError, match=match):
            project.load().deploy(ui="quiet")
        running = driver.executor.run(host, Command.from_argv(["docker", "ps", "-a", "--format", "{{.Names}}"]))
        assert "refused-web" not in running.stdout
        assert "refused-web" not in str(driver.certificates(host))

    unreachable = {"acme_ca": f"https://{acme.address}:1/dir", "acme_ca_root": str(acme.ca_root)}
    refused(Project(sandbox, tmp_path / "a", "refused", [host], ["refused.test"], kamalnb=unreachable),
            r"the ACME CA at https://[\d.]+:1/dir does not answer")
    refused(Project(sandbox, tmp_path / "b", "refused", [host], ["refused.test"],
                    ssl_setting={"certificate_pem": "NO_SUCH_CERT", "private_key_pem": "NO_SUCH_KEY"}),
            "Secret 'NO_SUCH_CERT' not found")
    refused(Project(sandbox, tmp_path / "c", "refused", [host], ["refused.test"],
                    ssl_setting={"certificate_pem": "BAD_CERT", "private_key_pem": "BAD_KEY"},
                    secrets="BAD_CERT=nonsense\nBAD_KEY=nonsense\n"),
            "the secret holds no PEM certificate")


def test_a_name_the_ca_cannot_validate_fails_the_deploy_with_the_cas_answer(sandbox, fleet, tmp_path) -> None:
    acme, driver, hosts = fleet
    host = hosts[1]
    # The name points where nothing listens on port 80.
    acme.point("nowhere.test", acme.address)
    project = Project(sandbox, tmp_path, "refused", [host], ["nowhere.test"], kamalnb=ca_settings(acme))
    started = time.monotonic()
    with pytest.raises(StepFailed, match=r"no certificate for nowhere\.test from .*connection refused.* check the "
                                         r"name's DNS records"):
        project.load().deploy(ui="quiet")
    assert time.monotonic() - started < 60
    running = driver.executor.run(host, Command.from_argv(["docker", "ps", "-a", "--format", "{{.Names}}"]))
    assert "refused-web" not in running.stdout
