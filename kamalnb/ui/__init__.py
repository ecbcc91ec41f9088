"""Renderers of events: plain lines in a terminal, a live board and a static table in a
notebook. Steps get theirs from `listener_for(ui)`."""

from kamalnb.ui.detect import UI_MODES, ProgressListener, detect, in_kernel, listener_for

__all__ = ["UI_MODES", "ProgressListener", "detect", "in_kernel", "listener_for"]
