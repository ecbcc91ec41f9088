"""Several apps (different services) behind one proxy on the same host, for real: the first
host-matched app on an empty proxy, a catch-all beside host-matched routes whatever the
order, conflicts refused before anything changes, `proxy remove` then `boot`, and an app's
route removed with it."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

import kamalnb
from kamalnb.commands.base import Command
from kamalnb.errors import ConfigError
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.proxy import CaddyDriver
from kamalnb.sandbox import Sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(600)]

GIT = ["git", "-c", "user.name=Test Deployer", "-c", "user.email=deployer@example.test"]
SERVICES = ("alpha", "beta", "gamma", "delta", "epsilon")


class Project:
    def __init__(self, sandbox: Sandbox, root: Path, service: str, host: str, names: list[str] | None) -> None:
        self.path = root / service
        subprocess.run([*GIT, "clone", "-q", str(sandbox.app_dir), str(self.path)], check=True)
        (self.path / ".kamal" / "hooks").mkdir(parents=True, exist_ok=True)
        (self.path / ".kamal" / "secrets").write_text((sandbox.app_dir / ".kamal" / "secrets").read_text())
        config_file = self.path / "config" / "deploy.yml"
        data = yaml.safe_load(config_file.read_text())
        data["service"], data["image"] = service, f"{service}/app"
        data["servers"] = {"web": {"hosts": [host]}}
        if names:
            data["proxy"]["hosts"] = names
        config_file.write_text(yaml.safe_dump(data, sort_keys=False))
        subprocess.run([*GIT, "commit", "-q", "-am", f"{service} on {host}"], cwd=self.path, check=True)
        self.version = subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.path, capture_output=True, text=True,
                                      check=True).stdout.strip()

    def load(self) -> kamalnb.App:
        return kamalnb.load(self.path / "config" / "deploy.yml", root=self.path)


def get(address: str, name: str) -> str:
    request = urllib.request.Request(f"http://{address}/version", headers={"Host": name})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read().decode().strip()
    except OSError as error:
        return f"error: {error}"


@pytest.fixture(scope="module")
def fleet(sandbox):
    host = sandbox.hosts[2].address
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)))
    driver = CaddyDriver(executor, sandbox.proxy_image)

    def clean() -> None:
        for service in SERVICES:
            executor.run(host, Command((f"docker ps -aq --filter label=service={service} | xargs -r docker rm -f",
                                        f"; rm -rf .kamal/apps/{service} .kamal/lock-{service}")), check=False)
        driver.purge(host)

    clean()
    yield host, driver
    clean()
    executor.close()


def test_apps_share_one_proxy_in_any_order_and_conflicts_are_refused(sandbox, fleet, tmp_path) -> None:
    host, driver = fleet
    alpha = Project(sandbox, tmp_path, "alpha", host, ["alpha.test"])
    beta = Project(sandbox, tmp_path, "beta", host, None)  # a catch-all
    gamma = Project(sandbox, tmp_path, "gamma", host, ["gamma.test"])

    # The first app with a host name on a fresh, empty proxy.
    assert alpha.load().deploy(ui="quiet").ok
    assert get(host, "alpha.test") == alpha.version
    # A catch-all after it, then a host-matched app after the catch-all: each keeps its own.
    assert beta.load().deploy(ui="quiet").ok
    assert gamma.load().deploy(ui="quiet").ok
    assert (get(host, "alpha.test"), get(host, "gamma.test"), get(host, "other.test")) == (
        alpha.version, gamma.version, beta.version)

    # Claims on a host name or catch-all someone else holds: refused, naming both, and
    # nothing of theirs starts.
    delta = Project(sandbox, tmp_path, "delta", host, ["alpha.test"])
    with pytest.raises(ConfigError, match=r"`delta-web` and `alpha-web` both claim host alpha\.test on "):
        delta.load().deploy(ui="quiet")
    epsilon = Project(sandbox, tmp_path, "epsilon", host, None)
    with pytest.raises(ConfigError, match=r"`epsilon-web` and `beta-web` both claim every host name"):
        epsilon.load().deploy(ui="quiet")
    running = driver.executor.run(host, Command.from_argv(["docker", "ps", "--format", "{{.Names}}"])).stdout
    assert "delta-web" not in running and "epsilon-web" not in running
    assert sorted(route.id for route in driver.claims(host)) == ["alpha-web", "beta-web", "gamma-web"]

    # Maintenance of one app: its name answers 503 with its message, the others serve.
    alpha.load().app.maintenance("Back at noon", ui="quiet")
    page = get(host, "alpha.test")
    assert page.startswith("error: HTTP Error 503"), page
    request = urllib.request.Request(f"http://{host}/version", headers={"Host": "alpha.test"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert "Back at noon" in refused.value.read().decode()
    assert get(host, "gamma.test") == gamma.version and get(host, "other.test") == beta.version
    alpha.load().app.live(ui="quiet")
    assert get(host, "alpha.test") == alpha.version

    # The proxy removed and booted again serves every app.
    driver.remove(host)
    assert get(host, "alpha.test").startswith("error")
    driver.boot(host)
    assert (get(host, "alpha.test"), get(host, "gamma.test"), get(host, "other.test")) == (
        alpha.version, gamma.version, beta.version)
    order = [route.id for route in driver.claims(host)]
    assert sorted(order[:2]) == ["alpha-web", "gamma-web"] and order[2] == "beta-web", order

    # An app's route removed: its name falls through to the catch-all.
    driver.remove_route(host, "alpha-web")
    assert get(host, "alpha.test") == beta.version
    driver.boot(host)
    driver.reboot(host, 30)
    assert get(host, "alpha.test") == beta.version and get(host, "gamma.test") == gamma.version
