"""What a listing verb printed on each host (`app details`, `app containers`, `app logs`...):
Kamal's `App Host: <host>` blocks as text, and the same rows as a table.

`Listing.to_frame()` turns Docker's column output (`docker ps`, `docker image ls`) into one
row per line with a column per Docker heading (`CONTAINER ID` -> `container_id`), after the
`host` and `role` columns; a host that failed gives one row with its `error`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

# Docker pads its columns with at least two spaces; a heading may hold single spaces.
_HEADING = re.compile(r"\S+(?: \S+)*")


@dataclass(frozen=True)
class Block:
    """One host's (and role's) output."""

    host: str
    role: str | None
    text: str
    error: str | None = None
    # The heading above the block (`Proxy Host`...) when not the listing's, and what it shows.
    header: str | None = None
    kind: str | None = None


def docker_table(text: str) -> list[dict[str, str]]:
    """Rows of Docker's column output, keyed by the snake_cased headings; cut at the
    headings' offsets, since a cell (`2 hours ago`) may hold single spaces."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    spans = [(match.start(), match.group(0)) for match in _HEADING.finditer(header)]
    names = [name.lower().replace(" ", "_") for _, name in spans]
    rows = []
    for line in lines[1:]:
        cells = {}
        for index, (start, _) in enumerate(spans):
            end = spans[index + 1][0] if index + 1 < len(spans) else None
            cells[names[index]] = line[start:end].strip()
        rows.append(cells)
    return rows


def log_lines(text: str) -> list[dict[str, str | None]]:
    """Log lines, split into Docker's `--timestamps` time and the line itself."""
    rows: list[dict[str, str | None]] = []
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", stamp):
            rows.append({"time": stamp, "line": rest})
        else:
            rows.append({"time": None, "line": line})
    return rows


def words(text: str, column: str) -> list[dict[str, str]]:
    """One row per non-empty line, in `column`."""
    return [{column: line.strip()} for line in text.splitlines() if line.strip()]


@dataclass
class Listing:
    """Per-host outputs of one listing verb, in host order."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    columns: Sequence[str] = ()
    parse: Callable[[str], list[dict[str, Any]]] = docker_table
    header: str = "App Host"

    @property
    def ok(self) -> bool:
        return all(block.error is None for block in self.blocks)

    @property
    def errors(self) -> dict[str, str]:
        return {block.host: block.error for block in self.blocks if block.error is not None}

    def text(self, *, quiet: bool = False) -> str:
        """Kamal's layout: each block under `<header>: <host>` (no headings with quiet)."""
        parts = []
        for block in self.blocks:
            body = block.text.rstrip() if block.error is None else f"ERROR: {block.error}"
            parts.append(body if quiet else f"{block.header or self.header}: {block.host}\n{body}")
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__

    def to_frame(self) -> pandas.DataFrame:
        from kamalnb.frames import frame

        rows: list[dict[str, Any]] = []
        kinds = any(block.kind for block in self.blocks)
        for block in self.blocks:
            where = {"host": block.host, **({"kind": block.kind} if kinds else {}), "role": block.role}
            if block.error is not None:
                rows.append({**where, "error": block.error})
                continue
            for row in self.parse(block.text):
                rows.append({**where, **row, "error": None})
        columns = ["host", *(["kind"] if kinds else []), "role", *self.columns]
        for row in rows:
            columns += [key for key in row if key not in columns and key != "error"]
        columns.append("error")
        table = frame(rows, columns)
        return table.astype(object).where(table.notna(), None)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(b.host)}</td><td>{html.escape(b.role or '')}</td>"
            f"<td><pre>{html.escape(b.text if b.error is None else 'ERROR: ' + b.error)}</pre></td></tr>"
            for b in self.blocks)
        return f"<p><b>{html.escape(self.title)}</b></p><table>{cells}</table>"
