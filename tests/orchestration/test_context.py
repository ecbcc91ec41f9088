"""What a step's context and the configuration give every step: one executor, one host order."""

from __future__ import annotations

import threading

from kamalnb.steps.context import StepContext
from tests.orchestration.conftest import HOSTS, PRIMARY
from tests.orchestration.scripted import ScriptedExecutor


def test_a_step_makes_one_executor_however_many_workers_ask_at_once(project, monkeypatch) -> None:
    from kamalnb.executors import ssh

    made = []

    def from_config(cls, config, **kwargs):
        made.append(config)
        return ScriptedExecutor()

    monkeypatch.setattr(ssh.SshExecutor, "from_config", classmethod(from_config))
    app = project.load()
    gate = threading.Barrier(8)

    def ask(host: str):
        gate.wait()
        return context.executor

    with StepContext(app.config, app.options, command="deploy") as context:
        outcomes = context.parallel([f"h{i}" for i in range(8)], ask)
    assert len(made) == 1 and len(set(map(id, outcomes.results.values()))) == 1


def test_another_version_keeps_the_selection_and_the_warnings(project) -> None:
    config = project.load("v1", roles="web", hosts=f"{HOSTS[1]},{HOSTS[2]}").config
    other = config.with_version("v9")
    assert other.version == "v9" and other.warnings == config.warnings
    assert other.specifics.hosts == config.specifics.hosts == [HOSTS[1], HOSTS[2]]
    assert [role.name for role in other.specifics.roles] == ["web"]
    assert config.with_version("v1") is config and config.with_version(None) is config


def test_host_and_role_pairs_put_the_primary_role_first(project) -> None:
    specifics = project.load().config.specifics
    assert [(host, role.name) for host, role in specifics.role_hosts] == [
        (HOSTS[0], "web"), (HOSTS[1], "web"), (HOSTS[2], "web"), (PRIMARY, "worker")]
    assert specifics.app_hosts == HOSTS
    assert specifics.proxy_hosts == HOSTS
