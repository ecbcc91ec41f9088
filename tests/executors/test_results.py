from datetime import UTC, datetime

import pandas
import pytest

from kamalnb.errors import CommandFailed, HostUnreachable, StepFailed
from kamalnb.fanout import Outcomes, fan_out
from kamalnb.results import HostOutcome, Report, Result

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def report() -> Report:
    ok = HostOutcome("10.0.0.1", role="web", version_before="aaa", version_after="bbb", started=STARTED,
                     duration=1.25, commands=[Result("10.0.0.1", "docker ps", 0)])
    failed = HostOutcome("10.0.0.2", role="web", started=STARTED, duration=0.5).fail(
        CommandFailed("10.0.0.2", "docker run <b>", 125, "line one\nUnable to find image"))
    return Report("deploy", [ok, failed], duration=2.0)


def test_result_check_raises_command_failed_with_the_tail_of_stderr():
    result = Result("h", "false", 1, stderr="first\nlast words")
    with pytest.raises(CommandFailed) as raised:
        result.check()
    assert raised.value.host == "h"
    assert raised.value.exit_status == 1
    assert "last words" in str(raised.value)
    assert Result("h", "true", 0).check().ok


def test_text_table_has_a_row_per_host_with_status_versions_and_error():
    text = str(report())
    lines = text.splitlines()
    assert lines[0] == "deploy: 1 ok, 1 failed in 2.0 s"
    assert lines[1].split() == ["host", "role", "status", "before", "after", "started", "duration", "commands", "error"]
    assert lines[2].split() == ["10.0.0.1", "web", "ok", "aaa", "bbb", "03:04:05", "1.2", "s", "1"]
    assert lines[3].startswith("10.0.0.2")
    assert "failed" in lines[3]
    assert "`docker run <b>` exited with status 125" in lines[3]
    assert "Unable to find image" not in text  # only the first line of the error in the table


def test_text_table_leaves_out_columns_empty_everywhere():
    text = str(Report("exec", [HostOutcome("h1"), HostOutcome("h2", status="skipped")]))
    header = text.splitlines()[1].split()
    assert header == ["host", "status", "started", "duration", "commands", "error"]


def test_html_escapes_and_lists_commands():
    markup = report()._repr_html_()
    assert "<table>" in markup
    assert "docker run &lt;b&gt;" in markup
    assert "<b>" not in markup
    assert "<details><summary>1</summary>" in markup
    assert "Unable to find image" in markup


def test_to_frame_has_one_row_per_outcome():
    frame = report().to_frame()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["host"]) == ["10.0.0.1", "10.0.0.2"]
    assert list(frame["status"]) == ["ok", "failed"]
    assert frame.loc[0, "version_after"] == "bbb"
    assert frame.loc[0, "commands"] == 1
    assert pandas.isna(frame.loc[0, "error"])
    assert frame.loc[1, "error"].startswith("`docker run <b>` exited with status 125")


def test_raise_on_failure_keeps_every_hosts_outcome():
    with pytest.raises(StepFailed) as raised:
        report().raise_on_failure()
    assert "10.0.0.2" in str(raised.value)
    assert [o.host for o in raised.value.report] == ["10.0.0.1", "10.0.0.2"]
    ok = Report("deploy", [HostOutcome("h1")])
    assert ok.raise_on_failure() is ok


def test_from_results_turns_errors_and_nonzero_exits_into_failures():
    results = Outcomes(
        {"h1": Result("h1", "uptime", 0, stdout="up"), "h2": Result("h2", "uptime", 2, stderr="boom")},
        {"h3": HostUnreachable("h3", "cannot connect to h3:22: Connection refused")},
    )
    built = Report.from_results("exec", results, roles={"h1": "web"})
    assert [o.status for o in built] == ["ok", "failed", "failed"]
    assert built.for_host("h1")[0].role == "web"
    assert built.for_host("h2")[0].error_message.startswith("`uptime` exited with status 2")
    assert built.for_host("h3")[0].error_message == "cannot connect to h3:22: Connection refused"
    assert not built.ok
    assert [o.host for o in built.succeeded] == ["h1"]


def test_step_recorder_builds_the_report_and_emits_events():
    from kamalnb.commands.base import Command
    from kamalnb.events import (
        Events,
        HostFinished,
        HostStarted,
        StepFinished,
        StepStarted,
    )
    from kamalnb.executors import Answer, PlanExecutor
    from kamalnb.results import StepRecorder

    seen = []
    events = Events(seen.append)
    plan = PlanExecutor([(lambda host, line: Answer(exit_status=1, stderr="no space") if host == "h2" else None, None)],
                        events=events)
    step = StepRecorder("boot", events, ["h1", "h2"], planned=True)

    def boot(host):
        with step.host(host, "boot", role="web") as outcome:
            outcome.record(plan.run(host, Command.from_argv(["docker", "run", "app"])))
            outcome.version_after = "v2"

    step.absorb(fan_out(["h1", "h2"], boot))
    report = step.finish()

    h1, h2 = sorted(report, key=lambda outcome: outcome.host)
    assert (h1.status, h1.role, h1.version_after, [r.command for r in h1.commands]) == (
        "planned", "web", "v2", ["docker run app"])
    assert h2.status == "failed"
    assert "no space" in h2.error_message
    kinds = [type(event) for event in seen]
    assert kinds[0] is StepStarted and kinds[-1] is StepFinished
    assert kinds.count(HostStarted) == 2 and kinds.count(HostFinished) == 2
    finished = {event.host: event for event in seen if isinstance(event, HostFinished)}
    assert finished["h1"].ok and not finished["h2"].ok
    assert seen[-1].report is report and not seen[-1].ok


def test_step_recorder_lets_bugs_through_after_recording_them():
    from kamalnb.events import Events
    from kamalnb.results import StepRecorder

    step = StepRecorder("boot", Events())
    with pytest.raises(KeyError), step.host("h1", "boot"):
        raise KeyError("bug")
    assert step.report.outcomes[0].status == "failed"
