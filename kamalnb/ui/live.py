"""The throttling shared by the notebook views: fold events into a StepProgress at once,
redraw at most every `interval` seconds, and always at once when the step starts, a host
fails or the step ends.

Events may arrive from many worker threads; redrawing goes to the frontend as comm or
display messages, which would swamp it if sent per output line. A daemon thread redraws
pending changes, and ticks elapsed times while hosts are busy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from kamalnb.events import Event
from kamalnb.ui.progress import StepProgress

log = logging.getLogger(__name__)

# A step that dies without its StepFinished must not leave a thread redrawing forever.
IDLE_LIMIT = 600.0


class LiveView:
    """A listener that keeps `progress` and calls `render()` (subclasses draw) throttled.

    With `interval=0` every event redraws synchronously and no thread is started (tests,
    or a caller that throttles itself).
    """

    def __init__(
        self,
        *,
        interval: float = 0.1,
        tick: float = 1.0,
        phases: Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.progress = StepProgress(phases=phases, clock=clock)
        self.interval = interval
        self.tick = tick
        self.renders = 0
        self._clock = clock
        self._lock = threading.RLock()
        self._dirty = False
        self._last_render = float("-inf")
        self._pump: threading.Thread | None = None
        self._stop = threading.Event()

    def __call__(self, event: Event) -> None:
        with self._lock:
            urgent = self.progress.apply(event)
            if urgent or self.interval <= 0:
                self._render_now()
            else:
                self._dirty = True
                self._start_pump()
            if self.progress.finished:
                self._stop.set()
            elif self._stop.is_set():
                # A new step through the same view after the last one ended.
                self._stop = threading.Event()
                self._pump = None

    def render(self) -> None:
        """Draw `self.progress`; called under the view's lock."""
        raise NotImplementedError

    def flush(self) -> None:
        """Draw pending changes now."""
        with self._lock:
            self._render_now()

    def close(self) -> None:
        """Stop the refresh thread (it also stops by itself when the step ends). A step that
        started but never sent its StepFinished (an interrupt) is drawn as ended, so the
        notebook does not keep it `running`."""
        self._stop.set()
        pump = self._pump
        if pump is not None and pump is not threading.current_thread():
            pump.join(timeout=2)
        with self._lock:
            if self.progress.step is not None and not self.progress.finished:
                self.progress.stop()
                self._render_now()
            elif self._dirty:
                self._render_now()

    def _render_now(self) -> None:
        self._dirty = False
        self._last_render = self._clock()
        self.renders += 1
        self.render()

    def _start_pump(self) -> None:
        if self._pump is not None or self._stop.is_set():
            return
        self._pump = threading.Thread(target=self._run_pump, args=(self._stop,), name="kamalnb-ui", daemon=True)
        self._pump.start()

    def _run_pump(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            with self._lock:
                now = self._clock()
                if now - self.progress.last_event > IDLE_LIMIT:
                    return
                busy = any(row.state == "running" for row in self.progress.rows)
                if self._dirty or (busy and self.tick and now - self._last_render >= self.tick):
                    try:
                        self._render_now()
                    except Exception:
                        log.exception("progress display failed to redraw")
