import os
import signal
import stat
import time

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import CommandFailed, CommandTimedOut
from kamalnb.events import CommandRan, Events, OutputLine
from kamalnb.executors import Executor, LocalExecutor
from kamalnb.sensitive import Secret


def test_runs_a_command_and_captures_both_streams():
    result = LocalExecutor().run("localhost", Command.from_argv(["sh", "-c", "echo out; echo err >&2"]))
    assert (result.exit_status, result.stdout, result.stderr) == (0, "out\n", "err\n")
    assert result.command == "sh -c 'echo out; echo err >&2'"


def test_it_is_an_executor():
    assert isinstance(LocalExecutor(), Executor)


def test_lines_arrive_while_the_command_runs():
    seen = []
    executor = LocalExecutor(events=Events(lambda e: seen.append((time.monotonic(), e))))
    executor.run("localhost", Command.from_argv(["sh", "-c", "echo one; sleep 1; echo two"]))
    arrivals = {e.text: t for t, e in seen if isinstance(e, OutputLine)}
    finished = next(t for t, e in seen if isinstance(e, CommandRan))
    assert finished - arrivals["one"] > 0.7
    assert finished - arrivals["two"] < 0.5


def test_non_zero_exit_raises_unless_unchecked():
    command = Command.from_argv(["sh", "-c", "echo nope >&2; exit 4"])
    with pytest.raises(CommandFailed) as raised:
        LocalExecutor().run("localhost", command)
    assert raised.value.exit_status == 4 and "nope" in str(raised.value)
    assert LocalExecutor().run("localhost", command, check=False).exit_status == 4


def test_timeout_kills_the_whole_process_group():
    started = time.monotonic()
    with pytest.raises(CommandTimedOut):
        LocalExecutor().run("localhost", Command.from_argv(["sh", "-c", "sleep 30 | cat"]), timeout=0.5)
    assert time.monotonic() - started < 5


def test_stdin_and_env():
    executor = LocalExecutor(env={"GREETING": "hi"})
    assert executor.run("localhost", Command(("cat",), stdin=Secret("secret input"))).stdout == "secret input"
    line = Command(("echo", '"$GREETING $KAMAL_HOSTS"'))
    assert executor.run("localhost", line, env={"KAMAL_HOSTS": "a,b"}).stdout == "hi a,b\n"


def test_upload_sets_the_mode_whatever_the_umask(tmp_path):
    executor = LocalExecutor(cwd=tmp_path)
    old = os.umask(0)
    try:
        result = executor.upload("localhost", Secret("KEY=1\n"), "web.env", mode=0o600)
    finally:
        os.umask(old)
    assert result.command == "upload web.env (6 bytes, mode 0600)"
    assert stat.S_IMODE((tmp_path / "web.env").stat().st_mode) == 0o600
    assert (tmp_path / "web.env").read_text() == "KEY=1\n"


def test_an_interrupt_stops_the_local_process_too(tmp_path):
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    pidfile = tmp_path / "pid"
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            LocalExecutor().run("local", Command((f"echo $$ > {pidfile}; exec sleep 30",)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"process {pid} outlived the interrupt")


def test_a_command_run_unchecked_marks_its_stderr_and_exit_as_an_answer() -> None:
    seen: list = []
    executor = LocalExecutor(events=Events(seen.append))
    executor.run("local", Command(("echo", "absent", ">&2;", "exit", "1")), check=False)
    with pytest.raises(CommandFailed):
        executor.run("local", Command(("echo", "broken", ">&2;", "exit", "1")))
    marks = [(type(e).__name__, e.checked) for e in seen if isinstance(e, (OutputLine, CommandRan))]
    assert marks == [("OutputLine", False), ("CommandRan", False), ("OutputLine", True), ("CommandRan", True)]
