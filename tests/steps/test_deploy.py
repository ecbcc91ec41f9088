"""Deploys on real hosts: Kamal's integration scenarios, re-created against the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import KamalnbError, LockHeld, StepFailed
from kamalnb.events import Event, Events, HostFinished
from kamalnb.executors import SshExecutor

pytestmark = pytest.mark.sandbox

HOOKS = ("pre-connect", "pre-build", "pre-deploy", "pre-app-boot", "post-app-boot", "post-deploy")


def read_env(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture(scope="module")
def hooks(sample, tmp_path_factory):
    """Every hook records its KAMAL_* environment, one file per run."""
    out = tmp_path_factory.mktemp("hooks")
    for name in HOOKS:
        hook = sample.path / ".kamal" / "hooks" / name
        hook.write_text(f'#!/bin/sh\nenv | grep ^KAMAL_ | sort > "{out}/{name}.$$"\n')
        hook.chmod(0o755)
    return out


def hook_runs(out, name: str) -> list[dict[str, str]]:
    return [read_env(path) for path in sorted(out.glob(f"{name}.*"), key=lambda p: p.stat().st_mtime)]


def clear(out) -> None:
    for path in out.iterdir():
        path.unlink()


def containers(sample, host: str) -> dict[str, str]:
    with SshExecutor.from_config(sample.load().config) as executor:
        lines = executor.run(host, Command.from_argv(
            ["docker", "ps", "-a", "--filter", "label=service=sample", "--format", "{{.Names}} {{.State}}"])).stdout
    return dict(line.split() for line in lines.splitlines())


def test_deploy_redeploy_rollback_run_the_hooks_and_serve_the_right_version(sample, hooks) -> None:
    first = sample.git("rev-parse", "HEAD")
    report = sample.load().deploy(ui="quiet")
    assert report.ok and {(o.host, o.role) for o in report} == (
        {(h.address, "web") for h in sample.sandbox.hosts} | {(sample.sandbox.hosts[0].address, "worker")})
    assert set(sample.serving().values()) == {first}

    runs = {name: hook_runs(hooks, name) for name in HOOKS}
    assert [len(runs[name]) for name in HOOKS] == [1, 1, 1, 2, 2, 1]  # two boot waves: web, then worker
    deploy_env = runs["pre-deploy"][0]
    assert deploy_env["KAMAL_VERSION"] == first
    assert deploy_env["KAMAL_SERVICE"] == "sample"
    assert deploy_env["KAMAL_COMMAND"] == "deploy"
    assert deploy_env["KAMAL_LOCK"] == "true"
    assert deploy_env["KAMAL_HOSTS"] == ",".join(h.address for h in sample.sandbox.hosts)
    assert deploy_env["KAMAL_REGISTRY_PASSWORD"] == "sandbox"  # pre-deploy gets the secrets
    assert "KAMAL_REGISTRY_PASSWORD" not in runs["pre-build"][0]
    assert runs["pre-app-boot"][1]["KAMAL_HOSTS"] == sample.sandbox.hosts[0].address
    assert int(runs["post-deploy"][0]["KAMAL_RUNTIME"]) >= 0
    assert runs["pre-connect"][0]["KAMAL_LOCK"] == "false"

    clear(hooks)
    second = sample.commit("second version")
    report = sample.load().redeploy(ui="quiet")
    assert report.ok
    assert {o.version_before for o in report} == {first} and {o.version_after for o in report} == {second}
    assert set(sample.serving().values()) == {second}
    assert hook_runs(hooks, "pre-deploy")[0]["KAMAL_COMMAND"] == "redeploy"
    states = containers(sample, sample.sandbox.hosts[0].address)
    assert states[f"sample-web-{second}"] == "running" and states[f"sample-web-{first}"] == "exited"

    clear(hooks)
    report = sample.load().rollback(first, ui="quiet")
    assert report.ok
    assert set(sample.serving().values()) == {first}
    assert hook_runs(hooks, "post-deploy")[0]["KAMAL_VERSION"] == first
    states = containers(sample, sample.sandbox.hosts[1].address)
    assert states[f"sample-web-{first}"] == "running" and states[f"sample-web-{second}"] == "exited"
    assert any(name.startswith(f"sample-web-{first}_replaced_") for name in states)

    audit = sample.load().audit()
    messages = set(audit["message"])
    assert {f"Booted app version {first}", f"Booted app version {second}",
            f"Pulled image with version {second}"} <= messages
    assert any(m.startswith(f"Renaming container {first} to {first}_replaced_") for m in messages)


def test_a_version_that_never_becomes_healthy_leaves_the_old_one_serving(sample, hooks) -> None:
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    clear(hooks)
    broken = sample.edit_config(lambda data: data["builder"]["args"].update(NEVER_HEALTHY=1))
    started = time.monotonic()
    with pytest.raises(StepFailed) as failure:
        sample.load().deploy(ui="quiet")
    assert time.monotonic() - started < 40
    message = str(failure.value)
    assert f"sample-web-{broken} did not become healthy within 10s: GET http://" in message
    assert ":80/up (app_port 80)" in message
    assert " 404" in message  # each attempt shows what came back
    assert "last log lines of" in message
    assert "The previous version keeps serving" in message
    report = failure.value.report
    assert report.failed and all(o.version_before == before for o in report.failed)
    assert set(sample.serving().values()) == {before}
    assert hook_runs(hooks, "post-deploy") == []
    assert not sample.load().lock.status(ui="quiet").held
    for host in sample.sandbox.hosts:
        states = containers(sample, host.address)
        assert states[f"sample-web-{before}"] == "running"
        assert states.get(f"sample-web-{broken}") in (None, "exited")
    sample.edit_config(lambda data: data["builder"]["args"].pop("NEVER_HEALTHY"))


def test_a_deploy_while_the_lock_is_held_is_refused_and_names_the_holder(sample) -> None:
    app = sample.load()
    app.lock.acquire("database migration by hand", ui="quiet")
    try:
        with pytest.raises(LockHeld) as refused:
            sample.load().deploy(ui="quiet")
        message = str(refused.value)
        assert "Deploy lock found on" in message
        assert "Message: database migration by hand" in message
        assert "Locked by: " in message
        status = app.lock.status(ui="quiet")
        assert status.held and status.info.message == "database migration by hand"
    finally:
        app.lock.release(force=True, ui="quiet")
    assert not app.lock.status(ui="quiet").held


def test_deploy_of_a_given_version_without_building(sample) -> None:
    first = sample.load().deploy(ui="quiet").outcomes[0].version_after
    second = sample.commit("another version")
    assert sample.load().deploy(ui="quiet").ok
    assert set(sample.serving().values()) == {second}
    report = sample.load(version=first).deploy(skip_push=True, ui="quiet")
    assert {o.version_after for o in report} == {first}
    assert set(sample.serving().values()) == {first}


def test_draining_with_nothing_in_flight_does_not_wait_for_the_drain_timeout(sample) -> None:
    sample.load().deploy(ui="quiet")
    sample.edit_config(lambda data: data.update(drain_timeout=60))
    drains: dict[str, float] = {}

    def listener(event: Event) -> None:
        if isinstance(event, HostFinished) and event.phase == "drain":
            drains[event.host] = event.duration

    report = sample.load().deploy(ui="quiet", events=Events(listener))
    assert report.ok
    assert set(drains) == {host.address for host in sample.sandbox.hosts}
    # The bound tells a drain that saw nothing in flight from one that ran out its timeout.
    assert max(drains.values()) < 60


def test_an_interrupted_deploy_leaves_the_old_version_serving_and_no_lock(sample) -> None:
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    slow = sample.edit_config(lambda data: data["builder"]["args"].update(START_DELAY=8))
    process = subprocess.Popen(
        [sys.executable, "-m", "kamalnb", "deploy"], cwd=sample.path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "KAMALNB_UI": "text"})
    seen = []
    for line in process.stdout:
        seen.append(line)
        if " health" in line and "web" in line:
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    output = "".join(seen) + process.stdout.read()
    assert process.wait(timeout=60) == 130, output
    assert "Interrupted" in output
    assert set(sample.serving().values()) == {before}
    assert not sample.load().lock.status(ui="quiet").held
    for host in sample.sandbox.hosts:
        states = containers(sample, host.address)
        assert states[f"sample-web-{before}"] == "running"
        assert states.get(f"sample-web-{slow}") in (None, "exited")
    sample.edit_config(lambda data: data["builder"]["args"].pop("START_DELAY"))


def test_a_host_whose_sshd_is_down_is_named_and_nothing_changes(sample) -> None:
    before = sample.load().deploy(ui="quiet").outcomes[0].version_after
    after = sample.commit("a version that must not boot")
    down = sample.sandbox.hosts[2]
    sample.sandbox.stop_sshd(down.name)
    try:
        with pytest.raises(KamalnbError) as failed:
            sample.load().setup(skip_push=False, ui="quiet")
    finally:
        sample.sandbox.start_sshd(down.name)
    assert down.address in str(failed.value)
    assert set(sample.serving().values()) == {before}
    assert not sample.load().lock.status(ui="quiet").held
    for host in sample.sandbox.hosts:
        assert f"sample-web-{after}" not in containers(sample, host.address)
