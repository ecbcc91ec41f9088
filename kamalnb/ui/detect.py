"""Which progress display to use, and the listener that draws it.

`KAMALNB_UI` (or a step's `ui=` argument) chooses: `widgets` (live board plus a static
table), `html` (the static table alone), `text` (lines on the terminal) or `quiet` (only
failures and the step's end). Left to `auto`, a Jupyter kernel whose frontend can show
widgets gets `widgets`, any other kernel `html`, and everything else `text`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TextIO

from kamalnb.errors import ConfigError
from kamalnb.events import Event

UI_MODES = ("widgets", "html", "text", "quiet")
_CHOICES = ("auto", *UI_MODES)
_LOOK_UP = object()


class ProgressListener(Protocol):
    """What `listener_for` returns: an event listener that can be closed when the step is
    over, even when it ended without its StepFinished (an interrupt)."""

    def __call__(self, event: Event) -> None: ...

    def close(self) -> None: ...


def ipython_shell() -> Any:
    """The running IPython shell, or None outside IPython (IPython is never imported here)."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    get_ipython = getattr(module, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def in_kernel(shell: Any = _LOOK_UP) -> bool:
    """Whether code runs in a Jupyter kernel (Lab, Notebook, VS Code, papermill, nbclient)
    rather than a terminal IPython or plain Python."""
    if shell is _LOOK_UP:
        shell = ipython_shell()
    if shell is None:
        return False
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)


def widgets_available() -> bool:
    return importlib.util.find_spec("ipywidgets") is not None


def _frontend_without_widgets(environ: Mapping[str, str]) -> bool:
    # Spyder's kernels (which set SPY_* variables) have a console that cannot render widgets.
    return any(name.startswith("SPY_") for name in environ)


def _check(value: str, origin: str) -> str:
    mode = value.strip().lower()
    if mode not in _CHOICES:
        raise ConfigError(
            f"{origin}={value!r} is not a progress display: use one of {', '.join(_CHOICES)}"
        )
    return mode


def detect(environ: Mapping[str, str] | None = None, *, shell: Any = _LOOK_UP) -> str:
    """`widgets`, `html`, `text` or `quiet`: `KAMALNB_UI` when set (and not `auto`), else
    what the environment can show."""
    environ = os.environ if environ is None else environ
    override = environ.get("KAMALNB_UI", "")
    if override.strip():
        mode = _check(override, "KAMALNB_UI")
        if mode != "auto":
            return mode
    if not in_kernel(shell):
        return "text"
    if widgets_available() and not _frontend_without_widgets(environ):
        return "widgets"
    return "html"


def listener_for(
    ui: str | None = "auto",
    *,
    verbose: bool = False,
    quiet: bool = False,
    stream: TextIO | None = None,
    display: Any = None,
    phases: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ProgressListener:
    """The listener a step should emit its events to; `close()` it when the step is over.

    `ui` is a step's `ui=` argument: `auto` (or None) defers to `KAMALNB_UI` and then to
    detection; `quiet=True` (the CLI's -q) means `quiet` unless `ui` names a display.
    `verbose` prints every command and output line in text mode (the board always keeps the
    lines, under each host's accordion). `stream` is where text goes (stdout by default);
    `display` replaces IPython's display function and `phases` the phases a row's bar is
    scaled to (by default the boot phases for deploys, otherwise the phases seen).
    """
    mode = _check(ui or "auto", "ui")
    shell = ipython_shell()
    if in_kernel(shell):
        from kamalnb.ui.notebook import show_errors_as_messages

        show_errors_as_messages(shell)
    if mode == "auto":
        mode = "quiet" if quiet else detect(environ)
    if mode in ("widgets", "html") and display is None and shell is None:
        # Nothing could show a notebook display here (KAMALNB_UI=widgets in a terminal).
        mode = "text"
    if mode in ("widgets", "html"):
        from kamalnb.ui.notebook import NotebookListener

        return NotebookListener(widgets=mode == "widgets" and widgets_available(), display=display, phases=phases)
    from kamalnb.ui.text import TextListener

    if mode == "quiet":
        return TextListener(stream, quiet=True)
    return TextListener(stream, verbose=verbose, quiet=quiet)
