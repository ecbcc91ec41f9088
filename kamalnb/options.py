"""Kamal's global options that change how a step runs (not what it runs on)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """Kamal's global options, as given to `kamalnb.load()` or on the command line."""

    verbose: bool = False
    quiet: bool = False
    skip_hooks: bool = False
