"""`kamalnb registry login|logout|setup|remove` on real hosts: the hosts' Docker credentials
for the sandbox registry appear and disappear."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import ConfigError, HostError
from kamalnb.executors import SshExecutor
from kamalnb.sandbox import images
from kamalnb.sandbox.system import run

pytestmark = pytest.mark.sandbox


def logged_in(sample) -> dict[str, bool]:
    config = sample.load().config
    server = config.registry.server
    with SshExecutor.from_config(config) as executor:
        return {host.address: server in executor.run(host.address, Command(("cat ~/.docker/config.json",)),
                                                     check=False).stdout
                for host in sample.sandbox.hosts}


def test_logout_then_login_on_every_host(sample) -> None:
    app = sample.load()
    assert app.registry.logout(skip_local=True, ui="silent").ok
    assert not any(logged_in(sample).values())
    assert app.registry.login(skip_local=True, ui="silent").ok
    assert all(logged_in(sample).values())
    plan = app.registry.setup(plan=True)
    assert any(command.startswith("docker login 10.231.") for command in plan.commands(kind=None))


def test_a_local_registry_refuses_login_and_logout(sample) -> None:
    config = sample.path / "config" / "deploy.yml"
    text = config.read_text()
    local = sample.load().config.registry.server
    try:
        config.write_text(text.replace(f"server: {local}", "server: localhost:5555"))
        app = sample.load()
        with pytest.raises(ConfigError, match="registry setup"):
            app.registry.login(ui="silent")
        plan = app.registry.setup(plan=True)
        assert "docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:5555:5000 " \
               "--name kamal-docker-registry registry:3" in plan.commands()
    finally:
        config.write_text(text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_on(sample, port: int) -> dict[str, bool]:
    return {host.address: f"127.0.0.1:{port} " in run(["ip", "netns", "exec", host.netns, "ss", "-ltn"]).stdout
            for host in sample.sandbox.hosts}


def test_a_deploy_through_the_local_registry_reaches_the_hosts_over_ssh_only(sample) -> None:
    port = free_port()

    def local_registry(data: dict) -> None:
        data["registry"] = {"server": f"localhost:{port}"}

    version = sample.edit_config(local_registry)
    app = sample.load()
    try:
        report = app.deploy(ui="silent")
        assert report.ok
        image = f"localhost:{port}/sample/app:{version}"
        assert set(sample.serving().values()) == {version}
        for host in sample.sandbox.hosts:
            assert sample.sandbox.host_docker(host.address, "image", "inspect", image).returncode == 0
        # The version reached the hosts from this machine's registry only, and every
        # forward closed with the pull.
        assert not images.registry_has(sample.sandbox, "sample/app", version)
        assert not any(listening_on(sample, port).values())
        planned = app.deploy(plan=True).commands(kind=None)
        assert planned.count(f"ssh -R 127.0.0.1:{port}:127.0.0.1:{port}") == len(sample.sandbox.hosts)
    finally:
        app.registry.remove(ui="silent")
    assert sample.sandbox.laptop_docker("container", "inspect", "kamal-docker-registry", check=False).returncode != 0


def test_a_port_taken_on_a_host_fails_its_forward_naming_the_host_and_the_fix(sample) -> None:
    port = free_port()
    host = sample.sandbox.hosts[0]
    listener = subprocess.Popen(["ip", "netns", "exec", host.netns, sys.executable, "-c",
                                 f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1', {port})); "
                                 "s.listen(); print('ready', flush=True); time.sleep(60)"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "ready"
        with (SshExecutor.from_config(sample.load().config) as executor, pytest.raises(HostError) as refused,
              executor.forward_to_local(host.address, port)):
            pass
        assert f"cannot forward 127.0.0.1:{port} on {host.address}" in str(refused.value)
        assert "free that port" in str(refused.value)
    finally:
        listener.kill()
        listener.wait()
