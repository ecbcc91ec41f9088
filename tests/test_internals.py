"""kamalnb.internals without hosts: what it reads from plans, the command log's phases,
the cord demo's commands, and output that never turns into LaTeX."""

from __future__ import annotations

from pathlib import Path

import pytest

import kamalnb
from kamalnb.events import CommandRan, Events, HostFinished, HostPhases, HostStarted
from kamalnb.internals import (
    CommandLog,
    CordDemo,
    HostOutput,
    by_phase,
    container_runs,
    host_paths,
    shell,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hey" / "config" / "deploy.yml"


@pytest.fixture
def app():
    return kamalnb.load(EXAMPLE, version="v1")


def test_container_runs_reads_names_labels_and_env_files_from_a_plan(app) -> None:
    runs = container_runs(app.deploy(plan=True, ui="silent"))
    assert list(runs.columns) == ["host", "name", "labels", "env_file", "image"]
    # Hosts plan in parallel: the rows come in whichever order they reached their `docker run`.
    assert next(run for run in runs.to_dict("records") if run["host"] == "192.0.2.10") == {
        "host": "192.0.2.10", "name": "hey-web-v1", "labels": "service=hey, role=web, destination",
        "env_file": ".kamal/apps/hey/env/roles/web.env", "image": "registry.example.com/acme/hey:v1"}
    assert sorted(zip(runs.host, runs.name, strict=True)) == [
        ("192.0.2.10", "hey-web-v1"), ("192.0.2.11", "hey-web-v1"), ("192.0.2.12", "hey-job-v1")]


def test_the_command_log_keeps_each_command_with_the_innermost_phase_of_its_host() -> None:
    log = CommandLog()
    events = Events(log)
    events.emit(HostStarted("h1", "boot"))
    events.emit(HostStarted("h1", "start"))
    events.emit(CommandRan("h1", "docker run x", 0, 0.5))
    events.emit(HostFinished("h1", "start"))
    events.emit(CommandRan("h1", "docker inspect x", 0, 0.1))
    events.emit(CommandRan("h2", "uptime", 1, 0.2))
    events.emit(HostFinished("h1", "boot"))
    assert [(row["host"], row["phase"], row["command"], row["exit_status"]) for row in log.rows] == [
        ("h1", "start", "docker run x", 0), ("h1", "boot", "docker inspect x", 0), ("h2", "", "uptime", 1)]
    assert list(log.to_frame().columns) == ["host", "phase", "command", "exit_status", "seconds"]
    phases = HostPhases()
    assert phases.follow(CommandRan("h1", "x", 0, 0)) is None and phases.current("h1") == ""


def test_a_logged_plan_counts_the_same_phases_as_the_plan(app) -> None:
    log = CommandLog()
    plan = app.deploy(plan=True, ui="silent", events=Events(log))
    planned = by_phase(plan.to_frame())
    logged = by_phase(log.to_frame())
    assert list(planned.phase)[:4] == ["preflight", "build", "pull", "lock"]
    assert set(logged.phase) <= set(planned.phase)
    assert planned.set_index("phase").loc["lock", "hosts"] == "192.0.2.10"
    assert planned.set_index("phase").loc["pull", "hosts"] == "192.0.2.10, 192.0.2.11, 192.0.2.12"


def test_the_cord_demo_runs_kamal_1s_health_check_and_cord_commands(app) -> None:
    cord = CordDemo(app, plan=True)
    commands = dict(zip(cord.commands().step, cord.commands().command, strict=True))
    directory = cord.cord_directory
    assert directory.startswith(".kamal/cords/hey-web-") and len(directory.rsplit("-", 1)[1]) == 32
    assert commands["tie the cord"] == f"mkdir -p {directory} ; touch {directory}/cord"
    assert commands["run"].startswith("docker run --detach --name kamal1-cord-demo-hey --health-cmd '(")
    assert ("|| exit 1) && (stat /tmp/kamal-cord/cord > /dev/null || exit 1)' --health-interval 1s"
            in commands["run"])
    assert f"--volume $(pwd)/{directory}:/tmp/kamal-cord registry.example.com/acme/hey:v1" in commands["run"]
    assert "http://localhost:3000/up" in cord.health_cmd
    assert commands["cut the cord"] == f"rm -r {directory}"
    assert commands["health"] == "docker inspect --format '{{.State.Health.Status}}' kamal1-cord-demo-hey"
    assert "service=" not in commands["run"]  # no Kamal command may count it as the app's
    assert not cord.tie().ran and cord.wait_for("healthy") is None


def test_shell_in_plan_mode_runs_nothing_and_its_html_keeps_dollars_out_of_latex(app, monkeypatch) -> None:
    monkeypatch.setattr(type(app), "connection", lambda self: pytest.fail("plan mode must not connect"))
    output = shell(app, "192.0.2.10", "echo $(hostname) $HOME", plan=True)
    assert not output.ran and "skipped" in str(output)
    shown = HostOutput("h", "echo $HOME", "/root $ \\n\n", exit_status=0)._repr_html_()
    assert "$H" not in shown and "<span>$</span>HOME" in shown and "<span>\\</span>n" in shown


def test_host_paths_are_kamal_2s(app) -> None:
    paths = host_paths(app)
    assert paths.loc["lock", "path"] == ".kamal/lock-hey"
    assert paths.loc["lock details", "path"] == ".kamal/lock-hey/details"
    assert paths.loc["audit log", "path"] == ".kamal/hey-audit.log"
    assert paths.loc["env file (web)", "path"] == ".kamal/apps/hey/env/roles/web.env"
    assert paths.loc["lock", "hosts"] == "192.0.2.10"
