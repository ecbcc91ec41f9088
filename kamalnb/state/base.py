"""What every fleet-state table shares: the configuration, the executor, the frame's shape."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import pandas as pd

from kamalnb.commands.base import Command
from kamalnb.errors import AuthenticationFailed, HostError, HostKeyChanged, HostKeyUnknown, HostUnreachable
from kamalnb.facts import ContainerInfo, parse_container_inspect

if TYPE_CHECKING:
    from kamalnb.config import Configuration
    from kamalnb.executors import Executor

T = TypeVar("T")

# Sorts missing times before every real one.
EPOCH = datetime.min.replace(tzinfo=timezone.utc)

# The errors that mean "we never got to run anything there".
CONNECTION_ERRORS = (HostUnreachable, AuthenticationFailed, HostKeyUnknown, HostKeyChanged)


def config_of(app: Any) -> "Configuration":
    """An `App` (from `kamalnb.load`) or its `Configuration`."""
    return getattr(app, "config", app)


@contextmanager
def executor_for(config: "Configuration", executor: "Executor | None") -> Iterator["Executor"]:
    """The given executor, or an SSH executor from the configuration for the length of one table."""
    if executor is not None:
        yield executor
        return
    from kamalnb.executors import SshExecutor

    with SshExecutor.from_config(config) as ssh:
        yield ssh


def read_each(executor: "Executor", hosts: Sequence[str], task: Callable[[str], T]) -> "dict[str, T | HostError]":
    """`task` on every host in parallel; an answer that cannot be parsed becomes that host's
    error rather than failing the whole table."""

    def guarded(host: str) -> T:
        try:
            return task(host)
        except (ValueError, KeyError, TypeError) as error:
            raise HostError(host, f"unexpected answer: {error}") from None

    return executor.each(hosts, guarded)


def answers(found: Mapping[str, Any], hosts: Iterable[str], rows: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """Each host's answer, in host order; a host that could not be read gets a row with
    its error instead."""
    for host in hosts:
        answer = found[host]
        if isinstance(answer, HostError):
            rows.append({"host": host, "error": error_text(answer)})
        else:
            yield host, answer


def error_text(error: BaseException) -> str:
    return error.detail if isinstance(error, HostError) else (str(error) or type(error).__name__)


def reachable(error: BaseException) -> bool:
    return not isinstance(error, CONNECTION_ERRORS)


def frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, times: Sequence[str] = (),
          durations: Sequence[str] = ()) -> pd.DataFrame:
    """A frame with exactly `columns` (also when empty); times in UTC, durations as Timedelta."""
    table = pd.DataFrame([{column: row.get(column) for column in columns} for row in rows], columns=list(columns))
    for column in times:
        table[column] = pd.to_datetime(table[column], utc=True).astype("datetime64[ns, UTC]")
    for column in durations:
        table[column] = pd.to_timedelta(table[column]).astype("timedelta64[ns]")
    for column in table.columns:
        if pd.api.types.is_object_dtype(table[column]) or pd.api.types.is_string_dtype(table[column]):
            # pandas fills gaps in text columns with NaN; None reads the same in every column.
            table[column] = table[column].astype(object).where(table[column].notna(), None)
    return table.reset_index(drop=True)


def short_id(image_or_container_id: str) -> str:
    return image_or_container_id.removeprefix("sha256:")[:12]


def app_filters(config: "Configuration") -> list[str]:
    """Kamal's filters for this service and destination (an empty destination matches only
    containers labelled `destination=` with no value)."""
    return ["--filter", f"label=service={config.service}", "--filter", f"label=destination={config.destination or ''}"]


def inspect_containers(executor: "Executor", host: str, filters: Sequence[str] = ()) -> list[ContainerInfo]:
    """`docker ps` for the IDs, then one `docker inspect` of them all."""
    listed = executor.run(host, Command.from_argv(["docker", "ps", "--all", "--quiet", "--no-trunc", *filters]))
    ids = listed.stdout.split()
    if not ids:
        return []
    result = executor.run(host, Command.from_argv(["docker", "inspect", *ids]), check=False)
    # A container removed between the two commands makes inspect fail but still print the others.
    if result.ok or result.stdout.strip().startswith("["):
        return parse_container_inspect(result.stdout)
    result.check()
    return []


def role_prefix(service: str, role: str | None, destination: str | None) -> str:
    """`<service>-<role>[-<destination>]`, from a container's labels."""
    return "-".join(part for part in (service, role, destination) if part)
