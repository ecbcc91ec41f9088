"""Phase spans from events, and the timeline drawn from them (no host needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import matplotlib

from kamalnb.events import HostFinished, HostStarted
from kamalnb.results import PhaseLog, PhaseSpan, Report

matplotlib.use("Agg")

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_phase_log_pairs_starts_and_ends_per_host_role_and_phase() -> None:
    log = PhaseLog()
    for event in (
        HostStarted("h1", "boot", "web", at=at(0)),
        HostStarted("h1", "start", "web", at=at(0)),
        HostStarted("h2", "boot", "web", at=at(0.5)),
        HostFinished("h1", "start", "web", at=at(1), duration=1),
        HostStarted("h1", "health", "web", at=at(1)),
        HostFinished("h1", "health", "web", ok=False, at=at(3), error="unhealthy"),
        HostFinished("h1", "boot", "web", ok=False, at=at(3)),
        HostFinished("h2", "boot", "web", at=at(2)),
    ):
        log(event)
    assert log.spans == [
        PhaseSpan("h1", "web", "start", 0, 1),
        PhaseSpan("h1", "web", "health", 1, 3, ok=False),
        PhaseSpan("h1", "web", "boot", 0, 3, ok=False),
        PhaseSpan("h2", "web", "boot", 0.5, 2),
    ]


def test_the_timeline_draws_the_innermost_phases_one_row_per_host_and_role() -> None:
    report = Report("deploy")
    report.phases = [
        PhaseSpan("h1", "web", "start", 0, 1),
        PhaseSpan("h1", "web", "health", 1, 3, ok=False),
        PhaseSpan("h1", "web", "boot", 0, 3, ok=False),
        PhaseSpan("h2", "web", "boot", 0.5, 2),
        PhaseSpan("h1", None, "lock", 0, 0.2),
    ]
    figure = report.timeline()
    ax = figure.axes[0]
    bars = [(round(p.get_x(), 2), round(p.get_width(), 2), round(p.get_y() + p.get_height() / 2))
            for p in ax.patches]
    assert sorted(bars) == [(0.0, 0.2, 2), (0.0, 1.0, 0), (0.5, 1.5, 1), (1.0, 2.0, 0)]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["h1 web", "h2 web", "h1"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["start", "health", "boot", "lock"]
    failed = [p for p in ax.patches if round(p.get_width(), 2) == 2.0]
    assert failed[0].get_edgecolor()[:3] == (1.0, 0.0, 0.0)
