"""Kamal's top-level verbs on real hosts: details, prune, aliases and remove (which must
leave another app on the same hosts serving)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request

import pytest

from kamalnb.commands.base import Command
from kamalnb.executors import SshExecutor
from tests.steps.conftest import GIT, SampleApp

pytestmark = pytest.mark.sandbox


def ssh(sample, host: str, line: str) -> str:
    with SshExecutor.from_config(sample.load().config) as executor:
        return executor.run(host, Command((line,)), check=False).stdout


def cli(app: SampleApp, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamalnb", *args], cwd=app.path, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


def answer(address: str, host_header: str) -> str:
    request = urllib.request.Request(f"http://{address}/version", headers={"Host": host_header})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.read().decode().strip()
    except OSError as error:
        return f"error: {error}"


@pytest.fixture(scope="module")
def other(sample, tmp_path_factory):
    """A second app (service `other`, proxy host other.test) on the same hosts."""
    path = tmp_path_factory.mktemp("other") / "other"
    subprocess.run([*GIT, "clone", "-q", str(sample.path), str(path)], check=True)
    shutil.copytree(sample.path / ".kamal", path / ".kamal", dirs_exist_ok=True)
    app = SampleApp(sample.sandbox, path)

    def change(data):
        data["service"] = "other"
        data["image"] = "other/app"
        data["servers"] = {"web": {"hosts": data["servers"]["web"]["hosts"]}}
        data["proxy"]["host"] = "other.test"
        data["aliases"] = {"running": "app version", "hello": "server exec echo hello"}

    app.edit_config(change)
    yield app
    app.load().remove(confirm=True, ui="silent")


def test_remove_leaves_nothing_of_the_service_and_other_apps_serving(sample, other) -> None:
    other_version = other.git("rev-parse", "HEAD")
    # The catch-all app first: the proxy's first host-matched route cannot go into an empty
    # route list (Caddy: "array index out of bounds"), a proxy bug to be fixed on its own.
    sample.load().deploy(ui="silent")
    other.load().deploy(ui="silent")
    sample_version = sample.git("rev-parse", "HEAD")
    hosts = [h.address for h in sample.sandbox.hosts]
    assert {answer(h, "other.test") for h in hosts} == {other_version}
    assert {answer(h, "sample.test") for h in hosts} == {sample_version}

    # details: the proxy, then the app, per host
    details = sample.load().details()
    assert list(details.columns[:3]) == ["host", "kind", "role"]
    assert set(details[details.kind == "proxy"].host) == set(hosts)
    assert set(details[details.kind == "app"].names) == {f"sample-web-{sample_version}",
                                                         f"sample-worker-{sample_version}"}
    shown = cli(sample, "details")
    assert shown.returncode == 0 and f"Proxy Host: {hosts[0]}" in shown.stdout and f"App Host: {hosts[0]}" in shown.stdout

    with pytest.raises(Exception, match="confirm=True"):
        sample.load().remove()
    refused = cli(sample, "remove")
    assert refused.returncode == 1 and "-y" in refused.stderr

    report = sample.load().remove(confirm=True, ui="silent")
    assert report.ok
    for host in hosts:
        assert ssh(sample, host, "docker ps -aq --filter label=service=sample").strip() == ""
        # Every image of the service (other test modules' unlabelled variants are not the service's).
        assert ssh(sample, host, "docker image ls -q --filter label=service=sample").strip() == ""
        assert ssh(sample, host, "ls -a .kamal | grep sample").strip() == ""
        assert ssh(sample, host, "ls .kamal/apps").split() == ["other"]
        assert answer(host, "other.test") == other_version
        assert answer(host, "sample.test") != sample_version
    routes = sample.load().proxy.routes()
    assert "sample-web" not in set(routes.get("id", [])) if "id" in routes else True


def test_prune_keeps_retain_containers_and_their_images(other) -> None:
    app = other.load()
    for note in ("p1", "p2", "p3"):
        other.commit(note)
        other.load().deploy(ui="silent")
    host = other.sandbox.hosts[0].address
    before = ssh(other, host, "docker ps -a --filter label=service=other --filter status=exited -q | wc -l")
    assert int(before) >= 3
    report = app.prune("containers", retain=1, ui="silent")
    assert report.ok
    assert ssh(other, host, "docker ps -a --filter label=service=other --filter status=exited -q").split().__len__() == 1
    app.prune("images", ui="silent")
    tags = set(ssh(other, host, "docker image ls --filter label=service=other --format '{{.Tag}}'").split())
    used = set(ssh(other, host, "docker ps -a --filter label=service=other --format '{{.Image}}'").split())
    assert {image.rsplit(":", 1)[1] for image in used} | {"latest"} == tags


def test_aliases_run_the_aliased_command_and_unknown_words_are_named(other) -> None:
    version = other.git("rev-parse", "HEAD")
    shown = cli(other, "running")
    assert shown.returncode == 0, shown.stderr
    assert f"App Host: {other.sandbox.hosts[0].address}\n{version}" in shown.stdout
    hello = cli(other, "hello")
    assert hello.returncode == 0 and hello.stdout.count("hello") >= 3
    unknown = cli(other, "runing")
    assert unknown.returncode == 1 and unknown.stderr == 'Could not find command "runing".\nDid you mean?  "running"\n'
