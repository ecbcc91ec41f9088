"""The sandbox itself: real hosts, isolated homes and engines, registry, clean teardown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kamalnb.errors import SandboxError
from kamalnb.sandbox import Sandbox, sample_app, system
from tests.sandbox.helpers import connect, http_status, ssh, wait_status

pytestmark = pytest.mark.sandbox


def _snapshot(marker: str) -> dict:
    def lines(argv: list[str]) -> list[str]:
        return sorted(subprocess.run(argv, capture_output=True, text=True).stdout.splitlines())

    mounts = sorted(line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    processes = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                processes.append(cmdline)
    return {
        "netns": [line.split()[0] for line in lines(["ip", "netns", "list"])],
        "links": sorted(line.split(":")[1].split("@")[0].strip()
                        for line in lines(["ip", "-o", "link"])),
        "mounts": mounts,
        "processes": processes,
    }


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamalnb", *args], capture_output=True, text=True, timeout=240)


@pytest.fixture
def second_name():
    """A name for a second sandbox, which is taken down and deleted even if the test fails."""
    name = f"t{uuid.uuid4().hex[:6]}"
    yield name
    Sandbox(name).down(purge=True)


def test_second_sandbox_up_twice_recovers_from_a_crash_and_down_leaves_nothing(
        sandbox: Sandbox, second_name: str) -> None:
    name = second_name
    marker = f"/kamalnb/{name}/"
    before = _snapshot(marker)

    first = _cli("sandbox", "up", "--name", name, "--hosts", "2")
    assert first.returncode == 0, first.stderr
    second_sandbox = Sandbox.find(name)
    assert second_sandbox.subnet != sandbox.subnet
    assert len(second_sandbox.hosts) == 2
    assert _cli("sandbox", "up", "--name", name, "--hosts", "2").returncode == 0
    during = _snapshot(marker)
    assert set(during["netns"]) - set(before["netns"]) == {f"kamalnb-{name}-h1", f"kamalnb-{name}-h2"}
    assert during["processes"]

    # Kill every process the sandbox started, as a crash or an OOM killer would.
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not second_sandbox.running()
    recovered = _cli("sandbox", "up", "--name", name, "--hosts", "2")
    assert recovered.returncode == 0, recovered.stderr
    assert "h2     " in recovered.stdout and " NO " not in recovered.stdout
    code, out, _ = ssh(second_sandbox, "h2", "hostname && docker ps -q | wc -l")
    assert (code, out.split()) == (0, ["h2", "0"])

    down = _cli("sandbox", "down", "--name", name)
    assert down.returncode == 0, down.stderr
    time.sleep(0.2)
    after = _snapshot(marker)
    assert after == before
    # The fixture's fleet is untouched by the other sandbox's life.
    assert all(row["ssh"] for row in sandbox.status())


def test_status_and_find(sandbox: Sandbox) -> None:
    again = Sandbox.find(sandbox.name)
    assert [h.address for h in again.hosts] == [h.address for h in sandbox.hosts]
    result = _cli("sandbox", "status", "--name", sandbox.name)
    assert result.returncode == 0, result.stderr
    for host in sandbox.hosts:
        assert host.address in result.stdout
    assert str(sandbox.app_dir / "config" / "deploy.yml") in result.stdout
    with pytest.raises(SandboxError, match="no sandbox named 'nonesuch'"):
        Sandbox.find("nonesuch")
    missing = _cli("sandbox", "status", "--name", "nonesuch")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "ERROR: no sandbox named 'nonesuch': start one with `kamalnb sandbox up --name nonesuch`")


def test_paramiko_checks_host_keys_and_each_host_has_its_own_engine(sandbox: Sandbox) -> None:
    seen = set()
    for host in sandbox.hosts:
        client = connect(sandbox, host.name)
        try:
            _, stdout, _ = client.exec_command("docker info --format '{{.Name}} {{.DockerRootDir}}'")
            name, root = stdout.read().decode().split()
        finally:
            client.close()
        assert name == host.name
        seen.add(root)
    assert len(seen) == len(sandbox.hosts)


def test_home_is_per_host_and_visible_to_containers_through_home_mounts(sandbox: Sandbox) -> None:
    token = uuid.uuid4().hex
    path = f".kamalnb-test-{token}"
    first, *others = [h.name for h in sandbox.hosts]
    assert ssh(sandbox, first, f"echo {token} > ~/{path}")[0] == 0
    try:
        for other in others:
            assert ssh(sandbox, other, f"test -e ~/{path}")[0] == 1
        assert not os.path.exists(f"/root/{path}")
        code, out, err = ssh(sandbox, first,
                             f'docker run --rm -v "$HOME:/h" {sandbox.base_image} cat /h/{path}')
        assert (code, out.strip()) == (0, token), err
    finally:
        ssh(sandbox, first, f"rm -f ~/{path}")


def test_image_from_laptop_runs_on_every_host_and_hosts_reach_each_other(sandbox: Sandbox) -> None:
    image = sample_app.build(sandbox, "fleet-check")
    name = f"fleet-{uuid.uuid4().hex[:6]}"
    try:
        for host in sandbox.hosts:
            code, _, err = ssh(sandbox, host.name,
                               f"docker run -d --name {name} -p 80:80 -e KAMAL_VERSION={host.name} {image}")
            assert code == 0, err
        for host in sandbox.hosts:
            assert wait_status(f"http://{host.address}/up", 200, 10) is not None
        first, second = sandbox.hosts[:2]
        code, out, _ = ssh(sandbox, first.name, f"wget -qO- http://{second.address}/version")
        assert (code, out.strip()) == (0, second.name)
    finally:
        for host in sandbox.hosts:
            ssh(sandbox, host.name, f"docker rm -f {name}")


def test_sample_app_delay_unhealthy_variant_and_fast_stop(sandbox: Sandbox) -> None:
    host = sandbox.hosts[0]
    slow = sample_app.build(sandbox, "slow", start_delay=2)
    sick = sample_app.build(sandbox, "sick", never_healthy=True)
    try:
        assert ssh(sandbox, host.name, f"docker run -d --name slow -p 80:80 {slow}")[0] == 0
        assert wait_status(f"http://{host.address}/", 200, 10) is not None
        assert http_status(f"http://{host.address}/up") == 404
        ready = wait_status(f"http://{host.address}/up", 200, 10)
        assert ready is not None and 0.5 < ready < 4
        start = time.monotonic()
        assert ssh(sandbox, host.name, "docker stop slow")[0] == 0
        assert time.monotonic() - start < 1.5

        assert ssh(sandbox, host.name, f"docker run -d --name sick -p 80:80 {sick}")[0] == 0
        assert wait_status(f"http://{host.address}/", 200, 10) is not None
        assert wait_status(f"http://{host.address}/up", 200, 4) is None
    finally:
        ssh(sandbox, host.name, "docker rm -f slow sick")


def test_worker_logs_a_line_per_second(sandbox: Sandbox) -> None:
    host = sandbox.hosts[0]
    image = sample_app.build(sandbox, "worker-check")
    try:
        assert ssh(sandbox, host.name, f"docker run -d --name worker -e KAMAL_VERSION=w1 {image} /app/worker.sh")[0] == 0
        time.sleep(2.5)
        _, out, _ = ssh(sandbox, host.name, "docker logs worker")
        assert out.splitlines()[:2] == ["worker w1 tick 1", "worker w1 tick 2"]
    finally:
        ssh(sandbox, host.name, "docker rm -f worker")


def test_sample_app_is_a_git_repository_with_a_deploy_yml_for_the_fleet(sandbox: Sandbox) -> None:
    app = sandbox.app_dir
    log = subprocess.run(["git", "log", "--oneline"], cwd=app, capture_output=True, text=True).stdout
    assert log.strip()
    deploy = (app / "config" / "deploy.yml").read_text()
    for host in sandbox.hosts:
        assert host.address in deploy
    assert f"server: {sandbox.registry}" in deploy
    assert f"config: {sandbox.ssh_config}" in deploy
    assets = list((app / "public" / "assets").iterdir())
    version = sample_app.new_version(app, "a test release")
    new_assets = list((app / "public" / "assets").iterdir())
    assert len(assets) == len(new_assets) == 1 and assets != new_assets
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=app, capture_output=True, text=True).stdout.strip()
    assert version == head


def test_missing_prerequisites_are_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "which", lambda tool: None if tool in ("git", "sshd") else "/bin/true")
    with pytest.raises(SandboxError) as error:
        system.check_prerequisites()
    assert str(error.value) == (
        "missing packages: git openssh-server; install them with "
        "`apt-get install -y git openssh-server` or run `scripts/install-deps`")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="needs root"):
        system.check_prerequisites()


def test_bad_arguments_are_refused_before_anything_starts() -> None:
    with pytest.raises(SandboxError, match="--hosts must be between 1 and 50"):
        Sandbox("x", hosts=0)
    with pytest.raises(SandboxError, match="invalid sandbox name"):
        Sandbox("no/slash")
    with pytest.raises(SandboxError, match="is not an IPv4 network"):
        Sandbox("x", subnet="10.0.0.0/33")._choose_subnet()
    with pytest.raises(SandboxError, match="too small"):
        Sandbox("x", hosts=3, subnet="10.231.200.0/29")._choose_subnet()
