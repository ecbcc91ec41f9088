"""What a deploy checks before any host changes, against real hosts with real faults: each
fault is refused before the lock, naming the host and the cause; no host changed (no lock,
no container, no env file written, no audit line) and the running version still serves."""

from __future__ import annotations

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import ConfigError, HostError, HostsFailed, KamalnbError
from kamalnb.executors import SshExecutor
from kamalnb.sandbox import faults

pytestmark = pytest.mark.sandbox

SNAPSHOT = ("docker ps -a --filter label=service=sample --format '{{.Names}}' | sort;"
            " echo '--';"
            " find .kamal -path .kamal/proxy -prune -o -type f -printf '%p %s %T@\\n' 2>/dev/null | sort;"
            " ls -d .kamal/lock-* 2>/dev/null; true")


def snapshot(sample) -> dict[str, str]:
    """Per host: the sample's containers, and every file under ~/.kamal with size and mtime."""
    with SshExecutor.from_config(sample.load().config) as executor:
        return {host.address: executor.run(host.address, Command((SNAPSHOT,))).stdout
                for host in sample.sandbox.hosts}


@pytest.fixture(scope="module")
def running(sample) -> str:
    """A version deployed and serving everywhere before any fault."""
    report = sample.load().deploy(ui="quiet")
    assert report.ok
    version = report.outcomes[0].version_after
    assert set(sample.serving().values()) == {version}
    return version


def refused(sample, running: str, error: type[KamalnbError], **deploy) -> str:
    """Deploy a new version under a fault: refused; the message, once nothing changed is checked."""
    before = snapshot(sample)
    with pytest.raises(error) as failure:
        sample.load().deploy(ui="quiet", **deploy)
    assert snapshot(sample) == before
    assert not sample.load().lock.status(ui="quiet").held
    return str(failure.value)


def test_an_undefined_env_secret_is_refused_before_any_host(sample, running) -> None:
    sample.edit_config(lambda data: data["env"].update(secret=["PAYMENT_KEY"]))
    try:
        message = refused(sample, running, ConfigError, skip_push=True, version=running)
    finally:
        sample.edit_config(lambda data: data["env"].pop("secret"))
    assert "env/secret of role web lists PAYMENT_KEY, which .kamal/secrets does not define" in message
    assert "env/secret of role worker lists PAYMENT_KEY" in message
    assert set(sample.serving().values()) == {running}


def test_a_stopped_docker_engine_is_named_with_its_host(sample, running) -> None:
    down = sample.sandbox.hosts[1]
    new = sample.commit("a version that must not boot")
    with faults.docker_stopped(sample.sandbox, down.name):
        message = refused(sample, running, HostsFailed)
        others = {host: answer for host, answer in sample.serving().items() if host != down.address}
        assert set(others.values()) == {running}
    assert f"Docker is not running on {down.address} (" in message
    assert "Cannot connect to the Docker daemon" in message
    assert "docker login" not in message and "HTTPS" not in message
    assert new not in message
    assert set(_serving_after_restart(sample).values()) == {running}


def _serving_after_restart(sample, attempts: int = 100) -> dict[str, str]:
    """What each host serves once the restarted engine has brought its containers back."""
    import time

    answers = sample.serving()
    for _ in range(attempts):
        if not any(answer.startswith("error") for answer in answers.values()):
            break
        time.sleep(0.1)
        answers = sample.serving()
    return answers


def test_a_missing_image_with_skip_push_is_refused(sample, running) -> None:
    message = refused(sample, running, HostsFailed, skip_push=True, version="never-pushed")
    assert "the image 10.231." in message and "/sample/app:never-pushed is not in the registry" in message
    assert "deploy without -P to build and push it" in message
    assert set(sample.serving().values()) == {running}


def test_a_registry_that_is_down_is_named_before_any_host_changes(sample, running) -> None:
    with faults.registry_stopped(sample.sandbox):
        skipping = refused(sample, running, KamalnbError, skip_push=True, version=running)
        sample.commit("never pushed: the registry is down")
        building = refused(sample, running, KamalnbError)
        assert set(sample.serving().values()) == {running}
    registry = sample.sandbox.registry
    assert f"cannot reach {registry}: connection refused" in skipping
    assert f"docker login {registry}" in building and "connection refused" in building


def test_an_unreachable_host_is_refused_before_the_lock(sample, running) -> None:
    down = sample.sandbox.hosts[2]
    with faults.sshd_stopped(sample.sandbox, down.name):
        with pytest.raises(HostsFailed) as failure:
            sample.load().deploy(ui="quiet", skip_push=True, version=running)
        others = {host: answer for host, answer in sample.serving().items() if host != down.address}
        assert set(others.values()) == {running}
    message = str(failure.value)
    assert f"{down.address}: cannot connect to {down.address}:22: Connection refused" in message
    assert failure.value.hosts == [down.address]
    assert not sample.load().lock.status(ui="quiet").held
    assert set(sample.serving().values()) == {running}


def test_a_full_kamal_directory_is_found_before_an_env_file_is_written(sample, running) -> None:
    full = sample.sandbox.hosts[0]
    with faults.disk_full(sample.sandbox, full.name):
        message = refused(sample, running, HostsFailed, skip_push=True, version=running)
    assert f"disk full on {full.address}: 0 KiB free for ~/.kamal" in message
    assert "free space there, then deploy again" in message
    assert set(sample.serving().values()) == {running}


def test_an_upload_that_does_not_fit_leaves_the_file_as_it_was(sample, running) -> None:
    """The env file upload writes beside the file and renames: a full disk keeps the old one whole."""
    host = sample.sandbox.hosts[0]
    path = ".kamal/apps/sample/env/roles/web.env"
    with SshExecutor.from_config(sample.load().config) as executor:
        before = executor.run(host.address, Command(("cat", path))).stdout
        with faults.disk_full(sample.sandbox, host.name):
            with pytest.raises(HostError) as failure:
                executor.upload(host.address, "A=" + "x" * 100_000 + "\n", path, mode=0o600)
            after = executor.run(host.address, Command(("cat", path))).stdout
            leftovers = executor.run(host.address, Command(("ls", "-a", ".kamal/apps/sample/env/roles"))).stdout
    assert f"cannot write {path}" in str(failure.value)
    assert after == before
    assert "kamalnb-partial" not in leftovers


def test_the_checks_are_two_quick_questions_per_host_and_run_before_the_lock(sample, running) -> None:
    from kamalnb.events import CommandStarted, Events

    events = Events()
    seen: list[tuple[str, str]] = []
    events.subscribe(lambda event: seen.append((event.host, event.command))
                     if isinstance(event, CommandStarted) else None)
    report = sample.load().deploy(ui="silent", events=events, skip_push=True, version=running)
    assert report.ok
    checks = [(host, line) for host, line in seen if line.startswith(("docker info --format", "sh -c 'df -Pk"))]
    assert sorted(host for host, _ in checks) == sorted([host.address for host in sample.sandbox.hosts] * 2)
    # The engine answered: the command line that says why it would not is not needed.
    assert not [line for _, line in seen if line.startswith("sh -c 'info=$(docker info")]
    first_lock = next(index for index, (_, line) in enumerate(seen) if "mkdir .kamal/lock-" in line)
    assert all(seen.index(check) < first_lock for check in checks)
