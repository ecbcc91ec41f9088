import time

from kamalnb.events import HostStarted, OutputLine, StepFinished, StepStarted
from kamalnb.ui.summary import Summary, Table, kernel_display, render_table
from tests.ui.streams import deploy_with_a_failure, successful_deploy


class FakeDisplay:
    """Stands in for IPython's display: records what was shown and each in-place update."""

    def __init__(self):
        self.calls = []
        self.updates = []

    def __call__(self, obj, **kwargs):
        self.calls.append((obj, kwargs))
        return self

    def update(self, obj):
        self.updates.append(obj)

    @property
    def last(self):
        return (self.updates or [self.calls[-1][0]])[-1]


def html_of(obj):
    return obj._repr_mimebundle_()["text/html"] if isinstance(obj, Table) else obj._repr_html_()


def test_one_display_with_an_id_then_updates_in_place_ending_with_the_report():
    events, report = deploy_with_a_failure()
    display = FakeDisplay()
    summary = Summary(display=display, interval=0)
    for event in events:
        summary(event)

    assert len(display.calls) == 1
    first, kwargs = display.calls[0]
    assert kwargs == {"display_id": True}
    assert "deploy: running" in html_of(first)
    assert len(display.updates) == len(events) - 1
    assert display.last is report


def test_the_live_table_has_a_row_per_host_and_role_with_phase_status_and_elapsed():
    now = [0.0]
    events, _ = deploy_with_a_failure()
    failing = next(i for i, e in enumerate(events) if getattr(e, "ok", True) is False)
    display = FakeDisplay()
    summary = Summary(display=display, interval=0, clock=lambda: now[0])
    for event in events[: failing + 1]:
        now[0] += 0.5
        summary(event)

    table = display.last
    html = html_of(table)
    assert html.count("<tr>") == 4
    assert ("<td style='text-align:left'>web-1</td><td style='text-align:left'>web</td>"
            "<td style='text-align:left'>stop</td>"
            "<td style='text-align:left;color:#2e7d32;font-weight:bold'>done</td>") in html
    assert ("<td style='text-align:left;color:#c62828;font-weight:bold'>health failed: "
            "container app-web-v2 did not become healthy within 30 s</td>") in html
    assert "<td style='text-align:left'>workers-1</td><td style='text-align:left'></td>" \
           "<td style='text-align:left'>connect</td>" in html
    assert "connect ✓ (1/7)" in html
    text = repr(table).splitlines()
    assert text[0].startswith("deploy: running · ")
    assert text[1].split() == ["host", "role", "phase", "status", "elapsed"]
    assert text[2].split()[:4] == ["web-1", "web", "stop", "done"]


def test_without_a_report_the_final_update_is_the_table_marked_done_or_failed():
    display = FakeDisplay()
    summary = Summary(display=display, interval=0)
    for event in [StepStarted("deploy", ("web-1",)), HostStarted("web-1", "pull", "web"),
                  StepFinished("deploy", False, 1.0)]:
        summary(event)
    html = html_of(display.last)
    assert "deploy: FAILED" in html
    assert "not finished (pull)" in html


def test_updates_are_throttled_and_the_report_always_comes_last():
    events, report = successful_deploy()
    display = FakeDisplay()
    summary = Summary(display=display, interval=0.2)
    summary(events[0])
    for n in range(1000):
        summary(OutputLine("web-1", "stdout", f"line {n}"))
    for event in events[1:]:
        summary(event)
    assert len(display.updates) < 10
    assert display.last is report
    time.sleep(0.3)
    assert display.last is report
    summary.close()


def test_without_a_kernel_there_is_nothing_to_display_on_and_no_error():
    assert kernel_display() is None
    events, report = successful_deploy()
    summary = Summary(interval=0)
    for event in events:
        summary(event)
    assert summary.shown is report


def test_the_table_renders_from_progress_alone():
    events, _ = successful_deploy()
    summary = Summary(display=FakeDisplay(), interval=0)
    for event in events[:-1]:
        summary(event)
    table = render_table(summary.progress)
    assert table._repr_mimebundle_()["text/plain"] == repr(table)
    assert "web-2" in table.html


def test_closing_an_interrupted_step_leaves_a_table_that_says_so():
    display = FakeDisplay()
    summary = Summary(display=display, interval=10)
    for event in [StepStarted("deploy", ("web-1",)), HostStarted("web-1", "pull", "web")]:
        summary(event)
    summary.close()
    html = html_of(display.last)
    assert "deploy: FAILED" in html and "not finished (pull)" in html
