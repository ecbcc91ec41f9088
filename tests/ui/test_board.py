import threading
import time

import ipywidgets as widgets
import pytest

from kamalnb.events import (
    Events,
    HostFinished,
    HostStarted,
    OutputLine,
    StepFinished,
    StepStarted,
)
from kamalnb.ui.board import Board
from kamalnb.ui.progress import BOOT_PHASES
from tests.ui.streams import deploy_with_a_failure, successful_deploy


def feed(board, events):
    for event in events:
        board(event)
    return board


def test_bars_move_through_the_boot_phases_half_a_phase_at_each_start():
    board = Board(interval=0)
    feed(board, [StepStarted("deploy", ("web-1",)), HostStarted("web-1", "connect")])
    bar = board.row("web-1").bar
    assert (bar.value, bar.max, bar.bar_style) == (0.5 / 7, 1.0, "")
    assert board.row("web-1").status.value == "connect…"

    feed(board, [HostFinished("web-1", "connect"), HostStarted("web-1", "pull", "web")])
    row = board.row("web-1", "web")
    assert row.bar is bar
    assert bar.value == 1.5 / 7
    assert row.status.value == "pull…"
    assert "<b>web-1</b>" in row.label.value and "web" in row.label.value

    feed(board, [HostFinished("web-1", "pull", "web")])
    assert bar.value == 2 / 7
    assert row.status.value == "pull ✓"


def test_a_recorded_deploy_ends_with_green_and_red_bars_and_the_failure_in_the_status():
    events, _ = deploy_with_a_failure()
    board = feed(Board(interval=0), events)

    web1, web2, workers = board.row("web-1", "web"), board.row("web-2", "web"), board.row("workers-1", "workers")
    assert [view.box for view in (web1, web2, workers)] == list(board.rows_box.children)
    assert (web1.bar.value, web1.bar.max, web1.bar.bar_style) == (1.0, 1.0, "success")
    assert (web2.bar.value, web2.bar.bar_style) == (3.5 / 7, "danger")  # it stops where it failed
    assert (workers.bar.value, workers.bar.bar_style) == (1.0, "success")
    assert "done" in web1.status.value
    assert "health failed: container app-web-v2 did not become healthy within 30 s" in web2.status.value
    assert "FAILED" in board.header.value and "3 hosts" in board.header.value


def test_the_failure_shows_at_once_while_the_step_is_still_running():
    events, _ = deploy_with_a_failure()
    failing = next(i for i, e in enumerate(events) if isinstance(e, HostFinished) and not e.ok)
    board = feed(Board(interval=0), events[: failing + 1])
    assert board.row("web-2", "web").bar.bar_style == "danger"
    assert board.row("web-1", "web").bar.bar_style == "success"
    assert board.row("workers-1").bar.bar_style == ""
    assert "running" in board.header.value


def test_each_host_s_log_is_under_the_accordion_with_its_streams():
    events, _ = deploy_with_a_failure()
    board = feed(Board(interval=0), events)

    assert board.logs.titles == ("web-1 · 3 lines", "web-2 · 5 lines", "workers-1 · 3 lines")
    assert list(board.logs.children) == [board.log("web-1"), board.log("web-2"), board.log("workers-1")]
    assert board.log("web-1").outputs == (
        {"output_type": "stream", "name": "stdout",
         "text": "$ docker pull app:v2\nv2: Pulling from app\nStatus: Downloaded newer image for app:v2\n"},
    )
    web2 = board.log("web-2").outputs
    assert web2[-1] == {
        "output_type": "stream", "name": "stderr",
        "text": "curl: (7) Failed to connect\n"
                "health failed: container app-web-v2 did not become healthy within 30 s\n",
    }


def test_a_successful_deploy_turns_every_bar_green_and_full():
    events, _ = successful_deploy()
    board = feed(Board(interval=0), events)
    for host in ("web-1", "web-2"):
        view = board.row(host, "web")
        assert (view.bar.value, view.bar.max, view.bar.bar_style) == (1.0, 1.0, "success")
    assert "done" in board.header.value
    assert [view.status.value for view in map(board.row, ("web-1", "web-2"), ("web", "web"))] == [
        "<span style='color:#2e7d32'>done</span>"] * 2


def test_a_host_not_announced_gets_a_row_when_it_appears():
    board = feed(Board(interval=0), [StepStarted("deploy", ("web-1",)), HostStarted("web-9", "pull", "web")])
    assert len(board.rows_box.children) == 2
    assert board.row("web-9", "web").status.value == "pull…"
    assert board.row("web-1").status.value == "waiting"


def test_a_step_with_phases_not_known_ahead_fills_its_bars_only_when_it_ends():
    board = Board(interval=0)
    feed(board, [StepStarted("app exec", ("web-1",)), HostStarted("web-1", "exec", "web")])
    bar = board.row("web-1", "web").bar
    assert (bar.value, bar.max) == (0.25, 1.0)
    board(HostFinished("web-1", "exec", "web"))
    assert (bar.value, bar.bar_style) == (0.5, "")
    board(StepFinished("app exec", True, 1.0))
    assert (bar.value, bar.bar_style) == (1.0, "success")


def test_a_phase_not_expected_ahead_never_moves_a_bar_back():
    board = Board(interval=0)
    feed(board, [StepStarted("deploy", ("web-1",)), HostStarted("web-1", "pull", "web"),
                 HostFinished("web-1", "pull", "web"), HostStarted("web-1", "boot", "web"),
                 HostFinished("web-1", "boot", "web")])
    bar = board.row("web-1", "web").bar
    before = bar.value
    board(HostStarted("web-1", "retry", "web"))
    assert bar.value >= before
    board(HostFinished("web-1", "retry", "web"))
    assert bar.value >= before


def test_phases_given_to_the_board_scale_the_bars():
    board = Board(interval=0, phases=("lock", "build", "push"))
    feed(board, [StepStarted("build", ()), HostStarted("local", "build")])
    assert (board.row("local").bar.value, board.row("local").bar.max) == (0.5 / 3, 1.0)


def test_elapsed_times_come_from_the_clock():
    now = [100.0]
    board = Board(interval=0, clock=lambda: now[0])
    board(StepStarted("deploy", ("web-1",)))
    board(HostStarted("web-1", "pull", "web"))
    now[0] = 103.25
    board(OutputLine("web-1", "stdout", "pulling"))
    assert board.row("web-1", "web").elapsed.value == "3.2 s"
    now[0] = 110.0
    board(HostFinished("web-1", "pull", "web"))
    board(StepFinished("deploy", True, 10.0))
    now[0] = 500.0
    board.flush()
    assert board.row("web-1", "web").elapsed.value == "10.0 s"
    assert "10.0 s" in board.header.value


def test_redraws_are_throttled_and_the_last_change_still_shows():
    board = Board(interval=0.05, tick=0)
    board(StepStarted("deploy", ("web-1",)))
    for n in range(2000):
        board(OutputLine("web-1", "stdout", f"line {n}"))
    assert board.renders < 50
    deadline = time.monotonic() + 5
    while board.logs.titles != ("web-1 · 2000 lines",) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert board.logs.titles == ("web-1 · 2000 lines",)
    board(StepFinished("deploy", True, 1.0))
    assert board.row("web-1").bar.bar_style == "success"
    board.close()


def test_elapsed_ticks_while_a_host_is_busy_without_events():
    now = [0.0]
    board = Board(interval=0.01, tick=0.01, clock=lambda: now[0])
    board(StepStarted("deploy", ("web-1",)))
    board(HostStarted("web-1", "health", "web"))
    now[0] = 42.0
    deadline = time.monotonic() + 5
    while board.row("web-1", "web").elapsed.value != "42.0 s" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert board.row("web-1", "web").elapsed.value == "42.0 s"
    board.close()


def test_the_log_keeps_only_the_most_recent_lines():
    board = Board(interval=0)
    board(StepStarted("build", ()))
    for n in range(1500):
        board(OutputLine("local", "stdout", f"step {n}"))
    text = board.log("local").outputs[0]["text"]
    assert text.startswith("step 500\n") and text.endswith("step 1499\n")
    assert board.logs.titles == ("local · 1500 lines",)


def test_events_from_many_threads_at_once_end_in_the_right_state():
    board = Board(interval=0.005)
    errors = []
    hosts = [f"web-{n}" for n in range(12)]
    board(StepStarted("deploy", tuple(hosts)))
    start = threading.Barrier(len(hosts))

    def work(host):
        try:
            start.wait()
            for phase in BOOT_PHASES:
                board(HostStarted(host, phase, "web"))
                for n in range(20):
                    board(OutputLine(host, "stdout", f"{phase} {n}"))
                board(HostFinished(host, phase, "web", ok=not (host == "web-3" and phase == "health"), error="unhealthy"))
        except Exception as error:  # the test fails on any error raised in a worker
            errors.append(error)

    threads = [threading.Thread(target=work, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    board(StepFinished("deploy", False, 3.0))

    assert errors == []
    assert len(board.rows_box.children) == len(hosts)
    for host in hosts:
        view = board.row(host, "web")
        if host == "web-3":
            assert view.bar.bar_style == "danger" and "health failed: unhealthy" in view.status.value
        else:
            assert (view.bar.value, view.bar.bar_style) == (1.0, "success")
        stdout = [output["text"] for output in board.log(host).outputs if output["name"] == "stdout"]
        assert "".join(stdout).splitlines() == [f"{phase} {n}" for phase in BOOT_PHASES for n in range(20)]
    board.close()


def test_through_events_a_broken_redraw_does_not_stop_the_step(monkeypatch, caplog):
    board = Board(interval=0)
    monkeypatch.setattr(board, "render", lambda: (_ for _ in ()).throw(RuntimeError("comm closed")))
    got = []
    events = Events(board, got.append)
    events.emit(StepStarted("deploy", ("web-1",)))
    assert len(got) == 1
    assert "comm closed" in caplog.text


def test_the_board_displays_as_its_widget_with_a_text_form_for_saved_notebooks():
    events, _ = successful_deploy()
    board = feed(Board(interval=0), events)
    bundle = board._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == board.widget.model_id
    assert bundle["text/plain"] == "kamalnb deploy (live widgets; the table below holds the outcome)"
    assert isinstance(board.widget, widgets.VBox)


def test_a_row_that_does_not_exist_is_a_key_error():
    board = feed(Board(interval=0), [StepStarted("deploy", ("web-1",))])
    with pytest.raises(KeyError):
        board.row("web-2")


def test_closing_a_step_that_never_finished_draws_it_as_ended():
    board = feed(Board(interval=0.05), [StepStarted("deploy", ("web-1",)), HostStarted("web-1", "health", "web")])
    board.close()
    view = board.row("web-1", "web")
    assert (view.bar.bar_style, view.status.value) == (
        "warning", "<span style='color:#ef6c00'>not finished (health)</span>")
    assert "FAILED" in board.header.value


def test_a_second_step_through_the_same_board_starts_from_nothing():
    board = Board(interval=0)
    feed(board, successful_deploy()[0])
    feed(board, [StepStarted("app exec", ("db-1",)), HostStarted("db-1", "exec", "db"),
                 OutputLine("db-1", "stdout", "ok")])
    assert len(board.rows_box.children) == 1
    assert board.row("db-1", "db").bar.bar_style == ""
    assert board.logs.titles == ("db-1 · 1 line",)
    with pytest.raises(KeyError):
        board.row("web-1", "web")


def test_the_host_count_leaves_out_the_local_machine():
    board = feed(Board(interval=0), [
        StepStarted("deploy"), StepStarted("build", ("local",)), HostStarted("local", "build"),
        HostFinished("local", "build"), StepFinished("build", True, 1.0), StepStarted("boot", ("web-1", "web-2")),
        HostStarted("web-1", "boot", "web"), HostStarted("web-2", "boot", "web")])
    assert "2 hosts" in board.header.value


def test_the_header_gives_the_steps_own_duration_as_its_report_does():
    board = feed(Board(interval=0), [StepStarted("deploy", ("web-1",)), StepFinished("deploy", True, 12.4)])
    assert "12.4 s" in board.header.value
