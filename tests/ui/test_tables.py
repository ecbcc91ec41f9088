"""The HTML view of kamalnb's DataFrames: no MathJax delimiter survives, text fits the cell."""

from datetime import UTC, datetime

import pandas as pd

from kamalnb.frames import Frame, frame

COMMAND = r"docker rm $(docker ps -q) && echo ${line#sample-web-} \(x\)"


def table() -> Frame:
    return frame([{"host": "web-1", "command": COMMAND, "created": pd.Timestamp(datetime(2026, 1, 2, 3, 4, 5, 678, UTC)),
                   "duration": 1.23456, "error": None}], ["host", "command", "created", "duration", "error"])


def test_no_dollar_or_backslash_is_left_in_a_text_node_mathjax_could_pair() -> None:
    html = table()._repr_html_()
    assert "$(" not in html and "${" not in html and "\\(" not in html
    assert html.count("<span>$</span>") == 2 and html.count("<span>\\</span>") == 2
    assert "text-align: left" in html


def test_times_to_the_second_and_empty_columns_left_out_of_the_view_only() -> None:
    shown = table()
    html = shown._repr_html_()
    assert "2026-01-02 03:04:05<" in html and "678" not in html
    assert "1.23<" in html
    assert "<th>error</th>" not in html
    assert list(shown.columns) == ["host", "command", "created", "duration", "error"]
    assert shown["duration"].iloc[0] == 1.23456


def test_slices_stay_frames() -> None:
    shown = table()
    assert isinstance(shown[shown.host == "web-1"], Frame) and isinstance(shown.copy(), Frame)
