import io

import pytest

from kamalnb.errors import ConfigError
from kamalnb.events import HostStarted, StepFinished, StepStarted
from kamalnb.ui import detect, in_kernel, listener_for
from kamalnb.ui.notebook import NotebookListener
from kamalnb.ui.text import TextListener


class ZMQInteractiveShell:
    """Named like ipykernel's shell, which is what marks a Jupyter kernel."""


class TerminalInteractiveShell:
    pass


class KernelShell(ZMQInteractiveShell):
    pass


@pytest.mark.parametrize("value, mode", [
    ("widgets", "widgets"), ("html", "html"), ("text", "text"), ("quiet", "quiet"), (" Text ", "text"),
])
def test_kamalnb_ui_overrides_detection(value, mode):
    assert detect({"KAMALNB_UI": value}, shell=None) == mode
    assert detect({"KAMALNB_UI": value}, shell=ZMQInteractiveShell()) == mode


def test_auto_or_unset_detects_from_the_shell():
    assert detect({}, shell=None) == "text"
    assert detect({"KAMALNB_UI": "auto"}, shell=TerminalInteractiveShell()) == "text"
    assert detect({}, shell=KernelShell()) == "widgets"
    assert detect({"SPY_UMR_ENABLED": "True"}, shell=ZMQInteractiveShell()) == "html"


def test_a_kernel_is_recognised_by_its_shell_class():
    assert in_kernel(KernelShell())
    assert not in_kernel(TerminalInteractiveShell())
    assert not in_kernel(None)
    assert not in_kernel()


def test_an_unknown_kamalnb_ui_names_the_choices():
    with pytest.raises(ConfigError, match=r"KAMALNB_UI='bars' is not a progress display: use one of "
                                          r"auto, widgets, html, text, quiet"):
        detect({"KAMALNB_UI": "bars"})


def test_listener_for_text_and_quiet(monkeypatch):
    monkeypatch.delenv("KAMALNB_UI", raising=False)
    out = io.StringIO()
    listener = listener_for(verbose=True, stream=out)
    assert isinstance(listener, TextListener) and listener.verbose and not listener.quiet

    quiet = listener_for(quiet=True, stream=out)
    assert isinstance(quiet, TextListener) and quiet.quiet
    quiet(StepStarted("deploy", ("web-1",)))
    quiet(StepFinished("deploy", True, 1.0))
    assert out.getvalue() == ""
    quiet(StepFinished("deploy", False, 1.0))
    assert out.getvalue() == "deploy: FAILED in 1.0 s\n"

    assert listener_for("quiet", verbose=True, stream=out).quiet
    assert not listener_for("text", quiet=False, stream=out).quiet


def test_listener_for_follows_kamalnb_ui_unless_the_step_names_a_display(monkeypatch):
    monkeypatch.setenv("KAMALNB_UI", "quiet")
    assert listener_for().quiet
    assert not listener_for("text").quiet


def test_a_notebook_display_asked_for_outside_any_notebook_falls_back_to_text():
    assert isinstance(listener_for("widgets"), TextListener)
    assert isinstance(listener_for("html"), TextListener)


def test_a_bad_ui_argument_names_the_choices():
    with pytest.raises(ConfigError, match="ui='board' is not a progress display"):
        listener_for("board")


class Shown:
    def __init__(self):
        self.shown = []
        self.updates = []

    def __call__(self, obj, **kwargs):
        self.shown.append((obj, kwargs))
        return self

    def update(self, obj):
        self.updates.append(obj)


def test_the_notebook_listener_shows_the_board_then_the_summary_per_step():
    shown = Shown()
    listener = listener_for("widgets", display=shown)
    assert isinstance(listener, NotebookListener)
    assert shown.shown == []

    listener(StepStarted("deploy", ("web-1",)))
    listener(HostStarted("web-1", "pull", "web"))
    listener(StepFinished("deploy", True, 1.0))
    first_board = listener.board
    assert [kwargs for _, kwargs in shown.shown] == [{}, {"display_id": True}]
    assert shown.shown[0][0] is first_board.widget
    assert first_board.row("web-1", "web").bar.bar_style == "success"

    listener(StepStarted("rollback", ("web-1",)))
    assert listener.board is not first_board
    assert len(shown.shown) == 4
    listener.close()


def test_html_mode_shows_only_the_summary():
    shown = Shown()
    listener = listener_for("html", display=shown)
    listener(StepStarted("deploy", ("web-1",)))
    assert listener.board is None
    assert [kwargs for _, kwargs in shown.shown] == [{"display_id": True}]
    listener.close()
