"""Asset bridging (`asset_path`) on real hosts: a page of either version gets its
fingerprinted assets from every host through the switch; the next deploy drops the oldest."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

import kamalnb
from kamalnb.commands.base import Command
from kamalnb.errors import KamalnbError
from kamalnb.executors import SshExecutor
from kamalnb.steps.plan import Plan
from tests.steps.conftest import offline_project

ASSETS_DIR = ".kamal/apps/sample/assets"
LINK = re.compile(r"href=(/assets/[^>\s]+)")
VERSION = re.compile(r"<p id=version>([^<]*)</p>")

# post-app-boot: the first time after the test arms it, hold the boot until the client has
# fetched both versions' assets from a fleet that serves both versions.
HOLD_HOOK = """#!/bin/sh
[ -e "{dir}/armed" ] || exit 0
rm "{dir}/armed"
i=0
while [ ! -e "{dir}/seen" ]; do
  i=$((i + 1))
  if [ "$i" -gt 1200 ]; then touch "{dir}/gave-up"; exit 0; fi
  sleep 0.05
done
"""


def get(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError as error:
        return None, str(error)


def page(address: str) -> tuple[str, list[str]]:
    """The version a host serves on `/` through its proxy, and the asset paths its page links."""
    status, body = get(f"http://{address}/")
    assert status == 200, (address, status, body)
    version = VERSION.search(body)
    assert version, body
    return version.group(1), LINK.findall(body)


class Client:
    """Threads that, host after host, load the page and then every asset path any page
    linked so far (starting from `known`), counting each asset request by host, the
    version that host served, and the version whose page linked the asset."""

    def __init__(self, hosts: list[str], known: dict[str, str], seen_file: Path | None = None) -> None:
        self.hosts = hosts
        self.known = dict(known)
        self.old = set(known.values())
        self.seen_file = seen_file
        self.fetched: Counter[tuple[str, str, str]] = Counter()
        self.failures: list[tuple[str, str, int | None, str]] = []
        self.rounds_after: Counter[int] = Counter()
        self.deployed = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, args=(n,), daemon=True) for n in range(2)]

    def __enter__(self) -> Client:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deployed.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def loop(self, n: int) -> None:
        # Two full rounds over the fleet once the deploy has returned: the end state counts too.
        while self.rounds_after[n] < 2:
            after = self.deployed.is_set()
            serving = {}
            for host in self.hosts:
                status, body = get(f"http://{host}/")
                version = VERSION.search(body)
                if status != 200 or not version:
                    with self.lock:
                        self.failures.append((host, "/", status, body[:200]))
                    continue
                serving[host] = version.group(1)
                with self.lock:
                    for path in LINK.findall(body):
                        self.known.setdefault(path, version.group(1))
                    known = dict(self.known)
                for path, linked_by in known.items():
                    status, body = get(f"http://{host}{path}")
                    with self.lock:
                        if status == 200:
                            self.fetched[(host, serving[host], linked_by)] += 1
                        else:
                            self.failures.append((host, path, status, body[:200]))
            self.note_mixed_fleet()
            if after:
                self.rounds_after[n] += 1

    def fetched_while(self, host_serves: str, linked_by: str) -> int:
        with self.lock:
            return sum(count for (_, serves, linked), count in self.fetched.items()
                       if serves == host_serves and linked == linked_by)

    def note_mixed_fleet(self) -> None:
        if self.seen_file is None or self.seen_file.exists():
            return
        with self.lock:
            new = set(self.known.values()) - self.old
        if any(self.fetched_while(old, version) and self.fetched_while(version, old)
               for old in self.old for version in new):
            self.seen_file.touch()


def on_host(sample, host: str, *argv: str) -> str:
    with SshExecutor.from_config(sample.load().config) as executor:
        return executor.run(host, Command.from_argv(list(argv))).stdout


def listing(sample, host: str, path: str) -> set[str]:
    return set(on_host(sample, host, "sh", "-c", f"ls -1 {path} 2>/dev/null || true").split())


def asset_paths(sample) -> dict[str, str]:
    """The asset paths the clone's HEAD ships, each with the HEAD version."""
    version = sample.git("rev-parse", "HEAD")
    return {f"/assets/{path.name}": version for path in (sample.path / "public" / "assets").iterdir()}


@pytest.mark.sandbox
def test_both_versions_assets_answer_through_a_rolling_deploy_and_the_next_deploy_drops_the_oldest(
        sample, tmp_path) -> None:
    hosts = [host.address for host in sample.sandbox.hosts]
    hook = sample.path / ".kamal" / "hooks" / "post-app-boot"
    hook.write_text(HOLD_HOOK.format(dir=tmp_path))
    hook.chmod(0o755)
    # One host at a time: the fleet serves both versions for a while, and a page of the new
    # version from one host asks for its assets from hosts that still run the old one.
    first = sample.edit_config(lambda data: data.update(boot={"limit": 1}))
    assert sample.load().deploy(ui="quiet").ok
    first_assets = asset_paths(sample)
    for host in hosts:
        assert page(host) == (first, list(first_assets))

    second = sample.commit("second version")
    second_assets = asset_paths(sample)
    (tmp_path / "armed").touch()
    with Client(hosts, first_assets, seen_file=tmp_path / "seen") as client:
        report = sample.load().deploy(ui="quiet")
    assert report.ok
    assert not client.failures, f"{len(client.failures)} failed requests, first: {client.failures[:3]}"
    assert not (tmp_path / "gave-up").exists(), f"no mixed fleet seen: {client.fetched}"
    # The old version served the new page's assets, and the new one the old page's.
    assert client.fetched_while(first, second) > 0 and client.fetched_while(second, first) > 0
    for host in hosts:
        assert page(host) == (second, list(second_assets))
        for path in [*first_assets, *second_assets]:
            assert client.fetched[(host, second, first_assets.get(path, second))] > 0

    image = f"{sample.load().config.repository}:{second}"
    assert set(on_host(sample, hosts[0], "docker", "run", "--rm", "--entrypoint", "ls", image, "/www/assets").split()) \
        == {Path(path).name for path in second_assets}
    for host in hosts:
        assert listing(sample, host, f"{ASSETS_DIR}/extracted") == {f"web-{second}"}
        assert listing(sample, host, f"{ASSETS_DIR}/volumes") == {f"web-{second}"}
        assert listing(sample, host, f"{ASSETS_DIR}/volumes/web-{second}") == {
            Path(path).name for path in [*first_assets, *second_assets]}

    third = sample.edit_config(lambda data: data.pop("boot"))
    third_assets = asset_paths(sample)
    with Client(hosts, second_assets) as client:
        assert sample.load().deploy(ui="quiet").ok
    assert not client.failures, f"{len(client.failures)} failed requests, first: {client.failures[:3]}"
    assert client.fetched_while(third, second) > 0
    for host in hosts:
        assert page(host) == (third, list(third_assets))
        assert listing(sample, host, f"{ASSETS_DIR}/volumes/web-{third}") == {
            Path(path).name for path in [*second_assets, *third_assets]}
        assert on_host(sample, host, "find", ASSETS_DIR, "-name", Path(next(iter(first_assets))).name) == ""
        for path in first_assets:
            assert get(f"http://{host}{path}")[0] == 404
        for path in second_assets:
            assert get(f"http://{host}{path}")[0] == 200
    hook.unlink()


@pytest.mark.sandbox
def test_an_image_without_the_asset_path_fails_before_anything_starts(sample) -> None:
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    broken = sample.edit_config(lambda data: data.update(asset_path="/www/no-assets-here:ro"))
    with pytest.raises(KamalnbError) as failure:
        sample.load().deploy(ui="quiet")
    message = str(failure.value)
    hosts = [host.address for host in sample.sandbox.hosts]
    for host in hosts:
        assert f"{host}: role web: the image " in message
    assert f"sample/app:{broken} has no /www/no-assets-here (asset_path)" in message
    assert "no new container was started on any host" in message
    assert set(sample.serving().values()) == {before}
    assert not sample.load().lock.status(ui="quiet").held
    for host in hosts:
        names = on_host(sample, host, "docker", "ps", "-a", "--format", "{{.Names}}").split()
        assert f"sample-web-{before}" in names
        assert not [name for name in names if broken in name or name == "sample-web-assets"]
    sample.edit_config(lambda data: data.update(asset_path="/www/assets:ro"))


DEPLOY_YML = """\
service: hey
image: acme/hey
servers:
  web:
    - 192.0.2.10
    - 192.0.2.11
  jobs:
    hosts:
      - 192.0.2.11
    cmd: bin/jobs
registry:
  server: registry.example.test
  username: acme
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
proxy:
  app_port: 3000
asset_path: /app/public/assets
"""


def test_a_plan_shows_the_asset_commands_before_the_new_container_starts(tmp_path, monkeypatch) -> None:
    project = offline_project(tmp_path, DEPLOY_YML, "KAMAL_REGISTRY_PASSWORD=hunter2\n", monkeypatch)
    app = kamalnb.load(project / "config" / "deploy.yml", root=project)
    version = app.config.version
    plan = app.deploy(plan=True, ui="quiet")
    assert isinstance(plan, Plan)
    extract = (
        f"mkdir -p .kamal/apps/hey/assets/extracted/web-{version} && docker container rm hey-web-assets 2> /dev/null "
        f"|| true && docker container create --name hey-web-assets registry.example.test/acme/hey:{version} && "
        f"docker container cp -L hey-web-assets:/app/public/assets/. .kamal/apps/hey/assets/extracted/web-{version} "
        f"&& docker container rm hey-web-assets")
    sync = (f"mkdir -p .kamal/apps/hey/assets/volumes/web-{version} ; cp -rnT "
            f".kamal/apps/hey/assets/extracted/web-{version} .kamal/apps/hey/assets/volumes/web-{version}")
    volume = f"--volume $PWD/.kamal/apps/hey/assets/volumes/web-{version}:/app/public/assets"
    for host in ("192.0.2.10", "192.0.2.11"):
        run = plan.commands(host, kind="run")
        starts = [command for command in run if command.startswith("docker run --detach")]
        assert run.count(extract) == 1 and run.count(sync) == 1
        assert run.index(extract) < run.index(sync) < run.index(starts[0])
        # The proxied role mounts the assets; the role without the proxy has none (as Kamal).
        assert [volume in command for command in starts] == ([True] if host == "192.0.2.10" else [True, False])
    frame = plan.to_frame()
    assert set(frame[frame.command.isin([extract, sync])].phase) == {"start"}
