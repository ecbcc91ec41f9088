"""What every fleet-state table shares: the configuration, the executor, the frame's shape."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from kamalnb import facts, frames
from kamalnb.commands import Docker
from kamalnb.errors import AuthenticationFailed, HostError, HostKeyChanged, HostKeyUnknown, HostUnreachable, error_text
from kamalnb.facts import ContainerInfo
from kamalnb.fanout import Outcomes, fan_out

if TYPE_CHECKING:
    from kamalnb.config import Configuration
    from kamalnb.executors import Executor

T = TypeVar("T")

# Sorts missing times before every real one.
EPOCH = datetime.min.replace(tzinfo=UTC)

# The errors that mean "we never got to run anything there".
CONNECTION_ERRORS = (HostUnreachable, AuthenticationFailed, HostKeyUnknown, HostKeyChanged)


def config_of(app: Any) -> Configuration:
    """An `App` (from `kamalnb.load`) or its `Configuration`."""
    return getattr(app, "config", app)


@contextmanager
def executor_for(config: Configuration, executor: Executor | None) -> Iterator[Executor]:
    """The given executor, or an SSH executor from the configuration for the length of one table."""
    if executor is not None:
        yield executor
        return
    from kamalnb.executors import SshExecutor

    with SshExecutor.from_config(config) as ssh:
        yield ssh


def read_each(hosts: Sequence[str], task: Callable[[str], T]) -> Outcomes[str, T]:
    """`task` on every host in parallel; an answer that cannot be parsed becomes that host's
    error rather than failing the whole table."""

    def guarded(host: str) -> T:
        try:
            return task(host)
        except (ValueError, KeyError, TypeError) as error:
            raise HostError(host, f"unexpected answer: {error}") from None

    return fan_out(hosts, guarded)


def answers(found: Outcomes[str, Any], hosts: Iterable[str], rows: list[dict[str, Any]]
            ) -> Iterator[tuple[str, Any]]:
    """Each host's answer, in host order; a host that could not be read gets a row with
    its error instead."""
    for host in hosts:
        if host in found.errors:
            rows.append({"host": host, "error": error_text(found.errors[host])})
        else:
            yield host, found.results[host]


def reachable(error: BaseException) -> bool:
    return not isinstance(error, CONNECTION_ERRORS)


def frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, times: Sequence[str] = (),
          durations: Sequence[str] = ()) -> frames.Frame:
    """A frame with exactly `columns` (also when empty); times in UTC, durations as Timedelta."""
    table = frames.frame(rows, columns)
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


def app_filters(config: Configuration) -> list[str]:
    """Kamal's filters for this service and destination (an empty destination matches only
    containers labelled `destination=` with no value)."""
    return ["--filter", f"label=service={config.service}", "--filter", f"label=destination={config.destination or ''}"]


def inspect_containers(executor: Executor, host: str, filters: Sequence[str] = ()) -> list[ContainerInfo]:
    """Every container matching `filters`, inspected, in one command."""
    return executor.read(host, facts.containers(Docker(), filters))


def role_prefix(service: str, role: str | None, destination: str | None) -> str:
    """`<service>-<role>[-<destination>]`, from a container's labels."""
    return "-".join(part for part in (service, role, destination) if part)
