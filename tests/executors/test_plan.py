import re

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import CommandFailed
from kamalnb.events import CommandRan, CommandStarted, Events
from kamalnb.executors import Answer, Executor, HttpResponse, PlanExecutor
from kamalnb.fanout import fan_out
from kamalnb.sensitive import Secret


def cmd(*argv: str) -> Command:
    return Command.from_argv(argv)


def test_records_commands_per_host_in_order_without_running_them():
    plan = PlanExecutor()
    fan_out(["h1", "h2"], lambda host: [plan.run(host, cmd("mkdir", "-p", ".kamal")),
                                          plan.run(host, cmd("docker", "ps"))])
    assert plan.commands("h1") == ["mkdir -p .kamal", "docker ps"]
    assert plan.commands("h2") == ["mkdir -p .kamal", "docker ps"]
    assert sorted(plan.hosts) == ["h1", "h2"]
    assert "h1:\n  mkdir -p .kamal\n  docker ps" in str(plan)


def test_it_is_an_executor():
    assert isinstance(PlanExecutor(), Executor)


def test_canned_answers_by_prefix_pattern_and_callable():
    plan = PlanExecutor({"docker ps": "abc\n", re.compile(r"lock-app$"): Answer(exit_status=1, stderr="exists")})
    plan.answer(lambda host, line: "web-2" if host == "h2" and line == "hostname" else None)
    assert plan.run("h1", cmd("docker", "ps", "-q")).stdout == "abc\n"
    assert plan.run("h2", cmd("hostname")).stdout == "web-2"
    assert plan.run("h1", cmd("hostname")).stdout == ""
    result = plan.run("h1", cmd("mkdir", ".kamal/lock-app"), check=False)
    assert (result.exit_status, result.stderr) == (1, "exists")
    with pytest.raises(CommandFailed):
        plan.run("h1", cmd("mkdir", ".kamal/lock-app"))


def test_secrets_stay_redacted_in_the_plan():
    plan = PlanExecutor()
    plan.run("h1", Command(("docker", "login", "-u", Secret("me"), "--password-stdin"), stdin=Secret("pw")))
    plan.upload("h1", Secret("KEY=secret\n"), ".kamal/apps/app/env/roles/web.env", mode=0o600)
    assert plan.commands("h1") == [
        "docker login -u [REDACTED] --password-stdin",
        "upload .kamal/apps/app/env/roles/web.env (11 bytes, mode 0600)",
    ]
    assert "secret" not in str(plan.to_frame())


def test_http_requests_are_recorded_with_canned_responses():
    plan = PlanExecutor(http_answers={"GET http://127.0.0.1:2019/config": HttpResponse(200, body=b"{}")})
    assert plan.http("h1", "GET", "127.0.0.1", 2019, "/config/").json() == {}
    assert plan.http("h1", "GET", "10.0.0.5", 80, "/up").status == 200
    assert plan.commands("h1") == ["GET http://127.0.0.1:2019/config/", "GET http://10.0.0.5:80/up"]


def test_emits_the_same_events_as_a_real_run():
    seen = []
    plan = PlanExecutor(events=Events(seen.append))
    plan.run("h1", cmd("true"))
    assert [type(e) for e in seen] == [CommandStarted, CommandRan]
    assert seen[1].exit_status == 0


def test_to_frame_lists_the_plan():
    plan = PlanExecutor()
    plan.run("h1", cmd("true"))
    frame = plan.to_frame()
    assert list(frame.columns) == ["host", "kind", "command"]
    assert frame.values.tolist() == [["h1", "run", "true"]]
