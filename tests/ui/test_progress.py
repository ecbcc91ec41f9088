from kamalnb.errors import HostError
from kamalnb.events import HostFinished, HostStarted, StepFinished, StepStarted
from kamalnb.results import HostOutcome, Report
from kamalnb.ui.progress import BOOT_PHASES, StepProgress, phases_for


def run(events, **kwargs):
    progress = StepProgress(**kwargs)
    for event in events:
        progress.apply(event)
    return progress


def test_deploys_expect_the_boot_phases_other_steps_none():
    assert phases_for("deploy") == BOOT_PHASES
    assert phases_for("app boot") == BOOT_PHASES
    assert phases_for("rollback") == BOOT_PHASES
    assert phases_for("app exec") == ()
    assert phases_for("lock acquire") == ()


def test_a_host_wide_phase_counts_for_every_role_on_that_host_even_roles_seen_later():
    progress = run([
        StepStarted("deploy", ("app-1",)),
        HostStarted("app-1", "connect"),
        HostFinished("app-1", "connect"),
        HostStarted("app-1", "pull", "web"),
        HostStarted("app-1", "pull", "workers"),
    ])
    assert [row.label for row in progress.rows] == ["app-1 web", "app-1 workers"]
    for row in progress.rows:
        assert row.done == ["connect"]
        assert row.value == 1.5


def test_rows_follow_the_announced_roles_whichever_thread_reports_first():
    progress = run([
        StepStarted("deploy", ("app-1", "app-2")),
        HostStarted("app-1", "connect"),
        HostFinished("app-1", "connect"),
        StepStarted("boot", ("app-1", "app-2"), (("app-1", "web"), ("app-2", "web"), ("app-1", "workers"))),
        HostStarted("app-1", "stale", "workers"),
        HostStarted("app-2", "pull", "web"),
        HostStarted("app-1", "pull", "web"),
    ])
    assert [row.label for row in progress.rows] == ["app-1 web", "app-2 web", "app-1 workers"]
    assert progress.row("app-1", "workers").running == ["stale"]


def test_a_nested_step_does_not_end_the_outer_one():
    progress = run([
        StepStarted("deploy", ("web-1",)),
        StepStarted("build", ()),
        StepFinished("build", True, 1.0),
    ])
    assert not progress.finished and progress.step == "deploy"
    progress.apply(StepFinished("deploy", True, 2.0))
    assert progress.finished and progress.ok


def test_the_report_knows_failures_that_no_phase_event_carried():
    report = Report("deploy", [HostOutcome("web-1", "web").fail(HostError("web-1", "barrier closed"))])
    progress = run([
        StepStarted("deploy", ("web-1",)),
        HostStarted("web-1", "pull", "web"),
        HostFinished("web-1", "pull", "web"),
        StepFinished("deploy", False, 2.0, report),
    ])
    row = progress.row("web-1", "web")
    assert row.state == "failed"
    assert row.status == "step failed: barrier closed"


def test_hosts_the_report_skipped_or_planned_end_so():
    report = Report("deploy", [HostOutcome("web-1", status="skipped"), HostOutcome("web-2", status="planned")])
    progress = run([StepStarted("deploy", ("web-1", "web-2")), StepFinished("deploy", True, 0.1, report)])
    assert progress.row("web-1").state == "skipped"
    assert progress.row("web-2").state == "planned"
    assert progress.row("web-2").value == progress.row("web-2").total


def test_without_a_report_a_host_still_working_when_the_step_failed_is_unfinished():
    progress = run([
        StepStarted("deploy", ("web-1", "web-2")),
        HostStarted("web-1", "health", "web"),
        HostFinished("web-1", "health", "web", ok=False, error="unhealthy"),
        HostStarted("web-2", "health", "web"),
        StepFinished("deploy", False, 1.0),
    ])
    assert progress.row("web-1", "web").state == "failed"
    assert progress.row("web-2", "web").state == "unfinished"
    assert progress.row("web-2", "web").status == "not finished (health)"


def test_a_phase_run_again_is_counted_once():
    progress = run([
        StepStarted("app exec", ("web-1",)),
        HostStarted("web-1", "exec"), HostFinished("web-1", "exec"),
        HostStarted("web-1", "exec"), HostFinished("web-1", "exec"),
    ])
    row = progress.row("web-1")
    assert (row.plan, row.done, row.value) == (["exec"], ["exec"], 1.0)


def test_a_host_that_never_said_its_role_takes_the_report_s_word_for_any_role():
    report = Report("deploy", [HostOutcome("web-1", "web").fail(HostError("web-1", "connection refused"))])
    progress = run([StepStarted("deploy", ("web-1",)), StepFinished("deploy", False, 1.0, report)])
    assert progress.row("web-1").status == "step failed: connection refused"


def test_a_planned_deploy_ends_every_row_planned_the_local_one_after_its_build_only(tmp_path, monkeypatch):
    from pathlib import Path

    import kamalnb
    from kamalnb.events import Events

    monkeypatch.setenv("KAMALNB_SANDBOX_ROOT", str(tmp_path))
    hey = Path(__file__).resolve().parents[2] / "examples" / "hey" / "config" / "deploy.yml"
    seen: list = []
    kamalnb.load(hey).deploy(plan=True, ui="silent", events=Events(seen.append))
    progress = StepProgress()
    build_done = next(i for i, event in enumerate(seen) if isinstance(event, StepFinished) and event.step == "build")
    for event in seen[:build_done + 1]:
        progress.apply(event)
    assert progress.row("local").state == "done" and progress.row("local").plan == ["build"]
    for event in seen[build_done + 1:]:
        progress.apply(event)
    # The hosts' rows come first, from the checks before the build, in the order their checks started.
    assert sorted((row.host, row.state) for row in progress.rows) == [
        ("192.0.2.10", "planned"), ("192.0.2.11", "planned"), ("192.0.2.12", "planned"), ("local", "planned")]
    assert sorted(progress.host_order()) == ["192.0.2.10", "192.0.2.11", "192.0.2.12", "local"]
    assert progress.hosts == 3


def test_an_unchecked_commands_stderr_and_exit_status_are_an_answer_not_an_error():
    from kamalnb.events import CommandRan, OutputLine

    progress = StepProgress()
    for event in [StepStarted("build", ("local",)),
                  OutputLine("local", "stderr", "docker: unknown command: docker buildx", "docker buildx version",
                             checked=False),
                  CommandRan("local", "docker buildx version", 1, 0.1, checked=False),
                  OutputLine("local", "stderr", "no space left on device", "docker build"),
                  CommandRan("local", "docker build", 1, 2.0)]:
        progress.apply(event)
    assert list(progress.logs["local"].lines) == [
        ("stdout", "docker: unknown command: docker buildx"),
        ("stdout", "exit 1 (an answer the step expects)"),
        ("stderr", "no space left on device"),
        ("stderr", "exit 1 after 2.0 s"),
    ]
