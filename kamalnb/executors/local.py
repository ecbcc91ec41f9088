"""Run the same `Command` objects on this machine (builds, hooks)."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO

from kamalnb.commands.base import Command
from kamalnb.errors import HostError
from kamalnb.events import CommandRan, Events
from kamalnb.executors.base import (
    DEFAULT_PARALLELISM,
    BaseExecutor,
    Content,
    HttpResponse,
    LineSplitter,
    content_bytes,
    upload_label,
)
from kamalnb.results import Result

LOCALHOST = "localhost"


class LocalExecutor(BaseExecutor):
    """Runs commands with /bin/sh on this machine; `host` only labels events and results.

    `cwd` and `env` apply to every command (`env` is added to this process's environment);
    `run` takes extra `env` for one command, e.g. a hook's KAMAL_* variables.
    """

    def __init__(
        self,
        *,
        events: Events | None = None,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        command_timeout: float | None = None,
        parallelism: int = DEFAULT_PARALLELISM,
    ) -> None:
        self.events = events or Events()
        self.cwd = cwd
        self.env = dict(env or {})
        self.command_timeout = command_timeout
        self.parallelism = parallelism

    def run(
        self,
        host: str,
        command: Command,
        *,
        timeout: float | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        timeout = self.command_timeout if timeout is None else timeout
        display = str(command)
        started, t0 = self._started(host, display)
        try:
            process = subprocess.Popen(
                ["/bin/sh", "-c", command.render()],
                stdin=subprocess.PIPE if command.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.cwd,
                env={**os.environ, **self.env, **(env or {})},
                start_new_session=True,
            )
        except OSError as error:
            self.events.emit(CommandRan(host, display, None, 0.0))
            raise HostError(host, f"cannot start `{display}`: {error.strerror or error}") from None
        out = LineSplitter(self._line_emitter(host, "stdout", display, private=command.private_output))
        err = LineSplitter(self._line_emitter(host, "stderr", display, check))
        readers = [_reader(process.stdout, out), _reader(process.stderr, err)]
        if command.stdin is not None:
            assert process.stdin is not None
            try:
                process.stdin.write(content_bytes(command.stdin))
                process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            exit_status = process.wait(timeout)
        except KeyboardInterrupt:
            # The process runs in its own session, out of the terminal's reach: stop it here.
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            raise
        except subprocess.TimeoutExpired:
            # The whole process group: a shell's children must not outlive the timeout.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            for reader in readers:
                reader.join(1.0)
            raise self._timed_out(host, display, t0, timeout or 0) from None
        for reader in readers:
            reader.join()
        return self._finished(host, display, exit_status, started, t0, out.text, err.text, check)

    def upload(self, host: str, content: Content, path: str, *, mode: int = 0o644) -> Result:
        """Write a local file (relative to `cwd`) with exactly `mode`, whatever the umask."""
        data = content_bytes(content)
        display = upload_label(path, len(data), mode)
        started, t0 = self._started(host, display)
        target = Path(self.cwd or ".") / path
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), mode)
                handle.write(data)
        except OSError as error:
            self._finished(host, display, 1, started, t0, "", str(error), check=False)
            raise HostError(host, f"cannot write {path}: {error.strerror or error}") from None
        return self._finished(host, display, 0, started, t0, "", "", check=False)

    def forward_to_local(self, host: str, port: int) -> AbstractContextManager[None]:
        return nullcontext()  # this machine's loopback is already the local one

    def http(
        self,
        host: str,
        method: str,
        address: str,
        port: int,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpResponse:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return HttpResponse(response.status, response.reason, dict(response.getheaders()), response.read())
        except (OSError, http.client.HTTPException) as error:
            reason = "timed out" if isinstance(error, TimeoutError) else (str(error) or type(error).__name__)
            raise HostError(host, f"{method} http://{address}:{port}{path} failed: {reason}") from None
        finally:
            connection.close()


def _reader(pipe: IO[bytes] | None, splitter: LineSplitter) -> threading.Thread:
    def pump() -> None:
        assert pipe is not None
        with pipe:
            while chunk := os.read(pipe.fileno(), 65536):
                splitter.feed(chunk)
        splitter.finish()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread

