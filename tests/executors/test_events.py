import io
import threading
import time

from kamalnb.events import (
    CommandRan,
    CommandStarted,
    Events,
    HostFinished,
    HostStarted,
    OutputLine,
    StepFinished,
    StepStarted,
)
from kamalnb.results import HostOutcome, Report
from kamalnb.ui.text import TextListener


def test_listeners_get_every_event_one_at_a_time_from_many_threads():
    seen: list[OutputLine] = []
    inside = threading.Lock()
    overlaps = []

    def listener(event):
        if not inside.acquire(blocking=False):
            overlaps.append(event)
            return
        try:
            time.sleep(0.0001)
            seen.append(event)
        finally:
            inside.release()

    events = Events(listener)

    def emit(host):
        for n in range(50):
            events.emit(OutputLine(host, "stdout", str(n)))

    threads = [threading.Thread(target=emit, args=(f"h{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert len(seen) == 400
    for i in range(8):
        assert [e.text for e in seen if e.host == f"h{i}"] == [str(n) for n in range(50)]


def test_a_failing_listener_does_not_stop_the_others(caplog):
    got = []

    def broken(event):
        raise RuntimeError("display broke")

    events = Events(broken, got.append)
    events.emit(CommandStarted("h1", "docker ps"))
    assert got == [CommandStarted("h1", "docker ps", at=got[0].at)]
    assert "display broke" in caplog.text


def test_unsubscribe_stops_delivery():
    got = []
    events = Events()
    events.subscribe(got.append)
    events.emit(StepStarted("deploy"))
    events.unsubscribe(got.append)
    events.emit(StepStarted("deploy"))
    assert len(got) == 1


def lines(listener, *events):
    out = io.StringIO()
    listener._stream = out
    for event in events:
        listener(event)
    return out.getvalue().splitlines()


def test_text_listener_default_is_concise():
    report = Report("deploy", [HostOutcome("h1"), HostOutcome("h2").fail(RuntimeError("x"))])
    printed = lines(
        TextListener(),
        StepStarted("deploy", ("h1", "h2")),
        HostStarted("h1", "boot", "web"),
        CommandStarted("h1", "docker run app"),
        OutputLine("h1", "stdout", "abc123"),
        CommandRan("h1", "docker run app", 0, 0.5),
        HostFinished("h1", "boot", "web", ok=True, duration=1.23),
        CommandRan("h2", "docker run app", 125, 0.1),
        HostFinished("h2", "boot", "web", ok=False, duration=0.2, error="`docker run app` exited with status 125\n  more"),
        StepFinished("deploy", ok=False, duration=2.5, report=report),
    )
    assert printed == [
        "deploy on h1, h2",
        "  [h1] web boot",
        "  [h1] web boot: ok (1.2 s)",
        "  [h2] web boot: FAILED: `docker run app` exited with status 125",
        "deploy: 1 ok, 1 failed in 2.5 s",
    ]


def test_a_step_inside_one_of_its_own_name_is_said_once_with_the_outer_duration():
    inner = Report("accessory reboot", [HostOutcome("h1")])
    printed = lines(
        TextListener(),
        StepStarted("accessory reboot"),
        StepStarted("pull", ("h1",)),
        StepFinished("pull", ok=True, duration=0.5),
        StepStarted("accessory reboot", ("h1",)),
        HostFinished("h1", "start", "redis", ok=True, duration=1.0),
        StepFinished("accessory reboot", ok=True, duration=1.5, report=inner),
        StepFinished("accessory reboot", ok=True, duration=2.0, report=inner),
    )
    assert printed == [
        "accessory reboot",
        "pull on h1",
        "pull: ok in 0.5 s",
        "  [h1] redis start: ok (1.0 s)",
        "accessory reboot: 1 ok in 2.0 s",
    ]


def test_text_listener_verbose_shows_commands_and_output():
    printed = lines(
        TextListener(verbose=True),
        CommandStarted("h1", "uptime"),
        OutputLine("h1", "stdout", "up 3 days"),
        CommandRan("h1", "uptime", 0, 0.25),
    )
    assert printed == ["  [h1] $ uptime", "  [h1] up 3 days", "  [h1] done in 0.25 s"]
    assert lines(TextListener(verbose=True), CommandRan("h2", "docker run app", 125, 0.1)) == [
        "  [h2] exit 125: docker run app"]


def test_text_listener_quiet_shows_failures_and_the_end_only():
    printed = lines(
        TextListener(quiet=True),
        StepStarted("deploy", ("h1",)),
        HostStarted("h1", "boot"),
        HostFinished("h1", "boot", ok=True),
        HostFinished("h2", "boot", ok=False, error="unreachable"),
        StepFinished("deploy", ok=False, duration=1.0),
    )
    assert printed == ["  [h2] boot: FAILED: unreachable", "deploy: FAILED in 1.0 s"]
