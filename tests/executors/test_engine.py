"""Reads asked of and changes made by each host's Docker engine over the kept SSH
connection, on real hosts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kamalnb.commands.app import App
from kamalnb.commands.base import Command
from kamalnb.commands.engine import EngineRequest, containers
from kamalnb.commands.prune import Prune
from kamalnb.config import Configuration, load
from kamalnb.errors import CommandFailed, HostError
from kamalnb.events import CommandRan, Events
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.sandbox import faults

pytestmark = pytest.mark.sandbox

EVERY_CONTAINER = EngineRequest((containers([], all_states=True),), Command.from_argv(["docker", "ps", "-aq"]))


def dial_stdio_processes(executor: SshExecutor, host: str) -> int:
    """`docker system dial-stdio` processes running on the host (the `[d]` keeps pgrep's own shell out)."""
    found = executor.run(host, Command(("pgrep -fc 'docker system [d]ial-stdio' || true",))).stdout
    return int(found.strip() or 0)


@pytest.fixture
def ssh(sandbox):
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)), events=Events())
    yield executor
    executor.close()


def test_the_engine_answers_what_the_docker_command_line_prints(ssh, sandbox) -> None:
    host = sandbox.hosts[0].address
    [answer] = ssh.engine(host, EVERY_CONTAINER)
    printed = ssh.run(host, Command.from_argv(["docker", "ps", "-aq", "--no-trunc"])).stdout.split()
    assert answer.status == 200
    assert sorted(container["Id"] for container in json.loads(answer.body)) == sorted(printed)


def test_reads_share_one_kept_channel_and_close_with_the_executor(ssh, sandbox) -> None:
    host = sandbox.hosts[0].address
    seen: list[CommandRan] = []
    ssh.events.subscribe(lambda event: seen.append(event) if isinstance(event, CommandRan) else None)
    with SshExecutor(ssh.settings) as other:
        before = dial_stdio_processes(other, host)  # other tests' executors may hold some
        for _ in range(5):
            ssh.engine(host, EVERY_CONTAINER)
        assert dial_stdio_processes(other, host) == before + 1
        assert [event.exit_status for event in seen if event.command == str(EVERY_CONTAINER)] == [0] * 5
        ssh.close()
        assert dial_stdio_processes(other, host) == before


def test_a_kept_channel_that_ended_is_replaced_by_a_new_one(ssh, sandbox) -> None:
    host = sandbox.hosts[0].address
    ssh.engine(host, EVERY_CONTAINER)
    ssh.run(host, Command(("pkill -f 'docker system [d]ial-stdio'",)))
    [answer] = ssh.engine(host, EVERY_CONTAINER)
    assert answer.status == 200


def test_an_engine_that_is_down_is_named_with_what_to_check(ssh, sandbox) -> None:
    down = sandbox.hosts[1]
    with faults.docker_stopped(sandbox, down.name), pytest.raises(HostError) as failed:
        ssh.engine(down.address, EVERY_CONTAINER)
    message = str(failed.value)
    assert down.address in message and "docker system dial-stdio" in message and "docker info" in message
    assert "docker.sock" in message  # what dial-stdio said


# ---- changes --------------------------------------------------------------------------------

def _state(ssh: SshExecutor, host: str, service: str) -> tuple[list[str], list[str]]:
    """The service's containers (name, state) and image tags, as the docker command line lists them."""
    names = ssh.run(host, Command((f"docker ps -a --filter label=service={service} --format '{{{{.Names}}}} "
                                   "{{.State}}' | sort",))).stdout.split("\n")
    tags = ssh.run(host, Command((f"docker image ls --filter label=service={service} --format "
                                  "'{{.Repository}}:{{.Tag}}' | sort",))).stdout.split("\n")
    return [name.replace(service, "S") for name in names if name], [tag.replace(service, "S") for tag in tags if tag]


def _fleet_leftovers(ssh: SshExecutor, host: str, service: str, base: str) -> None:
    """What deploys leave: five labelled images (one tagged twice, one `latest`, one whose
    tag moved on after a container was created from it), a running container, and stopped
    ones of several versions."""
    script = [f"docker pull -q {base} >/dev/null", f"docker rm -f {service}-seed >/dev/null 2>&1 || true",
              f"docker create --name {service}-seed {base} >/dev/null"]
    for n in range(1, 6):
        script.append(f"docker commit --change 'LABEL service={service}' --change 'LABEL n={n}' {service}-seed "
                      f"{service}/app:{n} >/dev/null")
    script += [f"docker tag {service}/app:3 {service}/app:latest", f"docker tag {service}/app:3 {service}/app:3-copy",
               f"docker run -d --label service={service} --name {service}-web-2 {service}/app:2 sleep 600 >/dev/null",
               f"docker create --label service={service} --name {service}-web-4 {service}/app:4 >/dev/null",
               # Running from :5, which then moved to another image: it names its image by ID,
               # whose other tag stays.
               f"docker tag {service}/app:5 {service}/app:5-also",
               f"docker run -d --label service={service} --name {service}-web-5 {service}/app:5 sleep 600 >/dev/null",
               f"docker tag {service}/app:1 {service}/app:5"]
    for n in range(6, 10):
        script.append(f"docker create --label service={service} --name {service}-web-{n} {service}/app:1 >/dev/null")
    script.append(f"docker rm -f {service}-seed >/dev/null")
    ssh.run(host, Command((" && ".join(script),)), timeout=120)


def _config(root: Path, service: str) -> Configuration:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump({
        "service": service, "image": f"{service}/app", "servers": ["192.0.2.1"],
        "registry": {"username": "user", "password": "secret"}, "builder": {"arch": "amd64"}}))
    return load("config/deploy.yml", version="1", root=root, environ={})


def _clear(ssh: SshExecutor, host: str, service: str) -> None:
    ssh.run(host, Command((f"docker ps -aq --filter label=service={service} | xargs -r docker rm -f >/dev/null; "
                           f"docker image ls -q --filter label=service={service} | sort -u | xargs -r docker rmi -f",)),
            check=False)


def test_prune_through_the_engine_leaves_what_kamals_prune_lines_leave(ssh, sandbox, tmp_path) -> None:
    host = sandbox.hosts[2].address
    by_cli, by_engine = "prunecli", "pruneapi"
    try:
        for service in (by_cli, by_engine):
            _fleet_leftovers(ssh, host, service, sandbox.base_image)
        cli = Prune(_config(tmp_path / "cli", by_cli))
        engine = Prune(_config(tmp_path / "engine", by_engine))
        for command in (cli.app_containers(3), cli.dangling_images(), cli.tagged_images()):
            ssh.run(host, command)
        for request in (engine.engine_app_containers(3), engine.engine_dangling_images(), engine.engine_tagged_images()):
            assert ssh.change(host, request).ok
        containers, tags = _state(ssh, host, by_engine)
        assert (containers, tags) == _state(ssh, host, by_cli)
        # The running ones, and the newest three stopped ones.
        assert containers == ["S-web-2 running", "S-web-5 running", "S-web-7 created", "S-web-8 created",
                              "S-web-9 created"]
        # In use by a container (by tag, or by ID once its tag moved on), or `latest`.
        assert tags == ["S/app:1", "S/app:2", "S/app:5-also", "S/app:latest"]
    finally:
        for service in (by_cli, by_engine):
            _clear(ssh, host, service)


def test_a_change_the_engine_refuses_fails_as_its_command_line_would(ssh, sandbox, tmp_path) -> None:
    host = sandbox.hosts[2].address
    config = _config(tmp_path, "refused")
    app = App(config, config.role("web"), host)
    try:
        for version in ("1", "2"):
            ssh.run(host, Command((f"docker create --label service=refused --name refused-web-{version} "
                                   f"{sandbox.base_image}",)))
        result = ssh.change(host, app.engine_rename_container("1", "2"), check=False)
        assert result.exit_status == 1 and "is already in use" in result.stderr and "(HTTP 409)" in result.stderr
        with pytest.raises(CommandFailed) as failed:
            ssh.change(host, app.engine_rename_container("1", "2"))
        assert "docker rename refused-web-1 refused-web-2" in str(failed.value)
        assert ssh.change(host, app.engine_stop("3")).ok  # none of that name: nothing to stop, as with xargs
    finally:
        _clear(ssh, host, "refused")
