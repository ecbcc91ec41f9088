"""`kamalnb registry login|logout|setup|remove` on real hosts: the hosts' Docker credentials
for the sandbox registry appear and disappear."""

from __future__ import annotations

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import ConfigError
from kamalnb.executors import SshExecutor

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
