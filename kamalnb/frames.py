"""`Frame`: the DataFrame every kamalnb table is, and `frame()`, the one way to build one.

It is a plain pandas DataFrame whose notebook view is made for what kamalnb shows:
- no text is ever read as LaTeX. JupyterLab typesets text between two `$` (or `\\(`) with
  MathJax, which turns `$(docker image ls ...)` into italic maths, and pandas'
  `display.html.use_mathjax` option is ignored there. MathJax never joins text across an
  element boundary, so every `$` and `\\` sits in its own `<span>`: the page reads and
  copies the same characters, MathJax finds no pair;
- text columns (commands, logs, errors) are left-aligned and wrapped, timestamps shown to
  the second, and columns with no value in any row left out. The frame itself keeps every
  documented column; only the HTML differs.

Only loaded with pandas, by the code that builds a table.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

_TEXT_STYLE = "text-align: left; white-space: pre-wrap; overflow-wrap: break-word; max-width: 60em"
_TIME = "%Y-%m-%d %H:%M:%S"


class Frame(pd.DataFrame):
    """A DataFrame whose HTML view never typesets maths and fits a notebook cell."""

    @property
    def _constructor(self) -> type[Frame]:
        # Slices, copies and filters of a Frame stay Frames, so they display the same way.
        return Frame

    def _repr_html_(self) -> str | None:
        if self.empty:
            return pd.DataFrame._repr_html_(self)
        shown = pd.DataFrame(self)
        shown = shown[[column for column in shown.columns if shown[column].notna().any()]]
        formatters = {column: _formatter(shown[column]) for column in shown.columns}
        return shown.to_html(formatters=formatters, escape=False, na_rep="", border=0,
                             max_rows=pd.get_option("display.max_rows"), show_dimensions="truncate")


def _formatter(column: pd.Series) -> Any:
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column):
        return lambda value: "" if pd.isna(value) else _time(value)
    if pd.api.types.is_timedelta64_dtype(column):
        return lambda value: "" if pd.isna(value) else html.escape(str(value.round("s")))
    if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
        return _text
    if pd.api.types.is_float_dtype(column):
        return lambda value: "" if _missing(value) else f"{value:.2f}"
    return lambda value: "" if _missing(value) else html.escape(str(value))


def _time(value: Any) -> str:
    return f'<span style="white-space: nowrap">{value.strftime(_TIME)}</span>'


def _text(value: Any) -> str:
    if _missing(value):
        return ""
    if hasattr(value, "strftime"):
        return _time(value)
    return f'<div style="{_TEXT_STYLE}">{protect(str(value))}</div>'


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def protect(text: str) -> str:
    """`text` as HTML in which MathJax finds no delimiter."""
    return html.escape(text).replace("$", "<span>$</span>").replace("\\", "<span>\\</span>")


def frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Frame:
    """A Frame with exactly `columns` (also when empty), missing values as None."""
    return Frame([{column: row.get(column) for column in columns} for row in rows], columns=list(columns))
