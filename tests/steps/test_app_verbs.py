"""`kamal app …` verbs on real hosts: what they list, start, stop, log, exec and remove,
through the Python calls (tables) and the command line (Kamal's text)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from kamalnb.commands.base import Command
from kamalnb.executors import SshExecutor
from kamalnb.sandbox import sample_app

pytestmark = pytest.mark.sandbox


def ssh(sample, host: str, line: str) -> str:
    with SshExecutor.from_config(sample.load().config) as executor:
        return executor.run(host, Command((line,)), check=False).stdout


def cli(sample, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamalnb", *args], cwd=sample.path, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def deployed(sample):
    """The sample app deployed, then a second version, so an older container exists."""
    # The app's scripts as this checkout has them (a sandbox already running keeps its copy).
    shutil.copytree(sample_app.ASSETS, sample.path, dirs_exist_ok=True)
    first = sample.commit("scripts of this checkout")
    sample.load().deploy(ui="silent")
    second = sample.commit("second")
    sample.load().deploy(ui="silent")
    return first, second


def test_listings_return_tables_with_a_row_per_host_and_role(sample, deployed) -> None:
    first, second = deployed
    app = sample.load()
    hosts = [h.address for h in sample.sandbox.hosts]

    details = app.app.details()
    assert list(details.columns[:2]) == ["host", "role"] and "container_id" in details and "names" in details
    assert set(zip(details.host, details.role, strict=True)) == {(h, "web") for h in hosts} | {(hosts[0], "worker")}
    assert set(details.names) == {f"sample-web-{second}", f"sample-worker-{second}"}

    containers = app.app.containers()
    names = set(containers.names)
    assert {f"sample-web-{first}", f"sample-web-{second}"} <= names
    assert set(containers.host) == set(hosts) and containers.error.isna().all()

    images = app.app.images()
    assert {"repository", "tag", "image_id", "size"} <= set(images.columns)
    assert {first, second} <= set(images.tag)

    version = app.app.version()
    assert list(version.columns) == ["host", "role", "version", "error"]
    assert set(version.version) == {second} and set(version.host) == set(hosts)

    stale = app.app.stale_containers()
    assert list(stale.columns) == ["host", "role", "version", "stopped", "error"] and stale.empty


def test_the_command_line_prints_kamals_blocks(sample, deployed) -> None:
    _, second = deployed
    shown = cli(sample, "app", "version")
    assert shown.returncode == 0, shown.stderr
    for host in sample.sandbox.hosts:
        assert f"App Host: {host.address}\n{second}" in shown.stdout
    details = cli(sample, "app", "details", "-r", "worker")
    assert details.returncode == 0 and "CONTAINER ID" in details.stdout and f"sample-worker-{second}" in details.stdout
    assert "sample-web-" not in details.stdout


def test_logs_grep_finds_the_line_every_host_logged(sample, deployed) -> None:
    _, second = deployed
    logs = sample.load().app.logs(grep="sample web")
    web = logs[logs.role == "web"]
    assert set(web.host) == {h.address for h in sample.sandbox.hosts}
    assert all(f"sample web {second} started on {host}" in line for host, line in zip(web.host, web.line, strict=True))
    assert web.time.notna().all()
    bare = sample.load(roles="worker").app.logs(lines=3, skip_timestamps=True)
    assert len(bare) == 3 and bare.time.isna().all() and bare.line.str.startswith("worker ").all()


def test_logs_follow_streams_and_an_interrupt_closes_the_channel(sample, deployed) -> None:
    host = sample.sandbox.hosts[0].address
    worker = ssh(sample, host, "docker ps -q --filter label=service=sample --filter label=role=worker")
    # The sandbox's hosts share the machine's processes: count only the ones following this container.
    following = f"pgrep -fc '^docker logs .*--follow {worker.strip()}'"
    process = subprocess.Popen([sys.executable, "-m", "kamalnb", "app", "logs", "-f", "-r", "worker"],
                               cwd=sample.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    try:
        ticks = []
        deadline = time.monotonic() + 30
        while len(ticks) < 12 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if "tick" in line:
                ticks.append(line)
        # 10 lines of history, then new ones as the worker logs them.
        assert len(ticks) >= 12
        assert ssh(sample, host, following).strip() == "1"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    for _ in range(20):
        if ssh(sample, host, following).strip() == "0":
            break
        time.sleep(0.5)
    assert ssh(sample, host, following).strip() == "0"


def test_exec_reuse_runs_in_the_running_version_not_git_head(sample, deployed) -> None:
    _, second = deployed
    sample.commit("not deployed")  # git HEAD moves on; the running version does not
    outputs = sample.load().app.exec("cat /www/version", reuse=True, ui="silent")
    assert outputs.ok and set(text.strip() for text in outputs.outputs.values()) == {second}


def test_exec_in_a_new_container_writes_a_missing_env_file_first(sample, deployed) -> None:
    host = sample.sandbox.hosts[1].address
    ssh(sample, host, "rm -f .kamal/apps/sample/env/roles/web.env")
    outputs = sample.load(hosts=host).app.exec("sh -c 'echo ran $X'", env={"X": "1"},
                                               ui="silent")
    assert outputs.ok and outputs.outputs[host].strip() == "ran 1"
    assert ssh(sample, host, "test -f .kamal/apps/sample/env/roles/web.env && echo yes").strip() == "yes"


def test_exec_interactive_in_a_kernel_gives_the_ssh_line(sample, deployed) -> None:
    _, second = deployed
    line = sample.load().app.exec("sh", reuse=True, interactive=True)
    assert line.startswith("ssh ") and " -t " in line and f"docker exec -it sample-web-{second} sh" in line
    shown = cli(sample, "app", "exec", "-i", "--reuse", "sh")
    assert shown.returncode == 1 and " -t " in shown.stdout and "docker exec -it" in shown.stdout


def test_stop_then_start_takes_the_app_out_of_and_back_into_service(sample, deployed) -> None:
    _, second = deployed
    host = sample.sandbox.hosts[2].address
    # As in Kamal, start starts the container of the given (else the git HEAD) version.
    app = sample.load(hosts=host, version=second)
    assert app.app.stop(ui="silent").ok
    assert ssh(sample, host, f"docker inspect -f '{{{{.State.Running}}}}' sample-web-{second}").strip() == "false"
    assert sample.serving()[host] != second
    assert app.app.start(ui="silent").ok
    for _ in range(40):
        if sample.serving()[host] == second:
            break
        time.sleep(0.25)
    assert sample.serving()[host] == second


def test_boot_reboots_the_given_version_and_defaults_to_latest_as_kamal(sample, deployed) -> None:
    _, second = deployed
    plan = sample.load().app.boot(plan=True)
    assert any("--name sample-web-latest " in command for command in plan.commands())
    report = sample.load(version=second).app.boot(ui="silent")
    assert report.ok and {o.version_after for o in report} == {second}
    assert set(sample.serving().values()) == {second}
    host = sample.sandbox.hosts[0].address
    assert f"sample-web-{second}_replaced_" in ssh(sample, host, "docker ps -a --format '{{.Names}}'")


def test_exec_detach_leaves_a_container_running(sample, deployed) -> None:
    host = sample.sandbox.hosts[1].address
    outputs = sample.load(hosts=host).app.exec("sleep 30", detach=True, ui="silent")
    assert outputs.ok
    running = ssh(sample, host, "docker ps --filter name=sample-web-exec-latest- --format '{{.Names}}'")
    assert running.strip().startswith("sample-web-exec-latest-")
    ssh(sample, host, "docker ps -q --filter name=sample-web-exec- | xargs -r docker rm -f")


def test_stale_containers_lists_then_stops_an_old_version_left_running(sample, deployed) -> None:
    first, second = deployed
    host = sample.sandbox.hosts[2].address
    ssh(sample, host, f"docker start sample-web-{first}")
    app = sample.load(hosts=host, version=second)
    found = app.app.stale_containers()
    assert found[["host", "role", "version", "stopped"]].values.tolist() == [[host, "web", first, False]]
    shown = cli(sample, "app", "stale_containers", "-h", host)
    assert f"Detected stale container for role web with version {first}" in shown.stdout
    stopped = app.app.stale_containers(stop=True)
    assert stopped.stopped.tolist() == [True]
    assert ssh(sample, host, f"docker inspect -f '{{{{.State.Running}}}}' sample-web-{first}").strip() == "false"
    assert app.app.stale_containers().empty


def test_remove_leaves_nothing_of_the_app_on_its_hosts(sample, deployed) -> None:
    app = sample.load()
    assert app.app.remove(ui="silent").ok
    for host in sample.sandbox.hosts:
        assert ssh(sample, host.address, "docker ps -aq --filter label=service=sample").strip() == ""
        assert ssh(sample, host.address, "docker image ls -q --filter label=service=sample").strip() == ""
        assert ssh(sample, host.address, "test -e .kamal/apps/sample && echo left").strip() == ""
    assert os.environ.get("KAMALNB_TEST_SANDBOX") != ""
