"""The load client's judgement of an answer and its latency figures, without hosts."""

from __future__ import annotations

import math

import pytest

from kamalnb.sandbox.traffic import NotWhole, Tally, whole_page

PAGE = ("<!doctype html><html><head><title>sample v2</title>\n<link rel=stylesheet href=/assets/app-1.css>\n"
        "</head><body><h1>sample app</h1>\n<p id=version>v2</p>\n<p id=container>sample-web-v2</p></body></html>\n")


def test_a_whole_page_answers_its_version() -> None:
    assert whole_page(PAGE) == "v2"


@pytest.mark.parametrize(("answer", "kind"), [
    (PAGE[:60], "truncated page"),
    (PAGE.replace("<p id=version>v2", "<p id=version>v1"), "page mixing two versions"),
    ("<html><body>502 Bad Gateway</body></html>", "page without a version"),
    ("", "truncated page"),
])
def test_a_truncated_mixed_or_foreign_page_is_not_whole(answer: str, kind: str) -> None:
    with pytest.raises(NotWhole, match=kind):
        whole_page(answer)


def test_percentiles_are_nearest_rank_over_every_request() -> None:
    tally = Tally(latencies=[float(n) for n in range(100, 0, -1)])
    assert (tally.p50, tally.p99, tally.percentile(1.0)) == (50.0, 99.0, 100.0)
    assert Tally(latencies=[0.25]).p99 == 0.25
    assert math.isnan(Tally().p50)  # no request, no latency
