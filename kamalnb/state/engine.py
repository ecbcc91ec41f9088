"""The hosts' Docker engines: reachability, versions, disk, and the app's images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from kamalnb import facts
from kamalnb.commands import Docker
from kamalnb.facts import EngineInfo, split_reference
from kamalnb.state.base import (
    EPOCH,
    answers,
    config_of,
    error_text,
    executor_for,
    frame,
    reachable,
    read_each,
    short_id,
)

if TYPE_CHECKING:
    from kamalnb.executors import Executor

HOSTS_COLUMNS = ("host", "roles", "accessories", "reachable", "docker_version", "containers_running",
                 "docker_root", "disk_free", "error")
IMAGES_COLUMNS = ("host", "repository", "tag", "id", "created", "size", "error")


def engine_and_disk(executor: Executor, host: str) -> tuple[EngineInfo, int | None]:
    """The host's Docker engine, and the bytes free where it keeps its data."""
    docker = Docker()
    engine = executor.read(host, facts.engine(docker))
    return engine, executor.read(host, facts.disk_free(docker, engine.docker_root))


def hosts(app: Any, executor: Executor | None = None) -> pd.DataFrame:
    """Every host of the configuration (roles and accessories): one row each.

    `disk_free` is the space left (bytes) on the file system of Docker's root directory.
    """
    config = config_of(app)
    names = config.specifics.hosts
    with executor_for(config, executor) as ssh:
        found = read_each(names, lambda host: engine_and_disk(ssh, host))
    rows: list[dict[str, Any]] = []
    for host in names:
        row: dict[str, Any] = {
            "host": host,
            "roles": ", ".join(role.name for role in config.host_roles(host)),
            "accessories": ", ".join(accessory.name for accessory in config.host_accessories(host)),
        }
        if host in found.errors:
            row.update(reachable=reachable(found.errors[host]), error=error_text(found.errors[host]))
        else:
            engine, free = found.results[host]
            row.update(reachable=True, docker_version=engine.server_version,
                       containers_running=engine.containers_running, docker_root=engine.docker_root, disk_free=free)
        rows.append(row)
    table = frame(rows, HOSTS_COLUMNS)
    for column in ("containers_running", "disk_free"):
        table[column] = table[column].astype("Int64")
    return table


def images(app: Any, executor: Executor | None = None) -> pd.DataFrame:
    """The app's images (its repository, any tag) on every app host, newest first.

    An image with several tags gives a row per tag; an untagged one a row with no tag.
    """
    config = config_of(app)
    repository = config.repository
    names = config.specifics.app_hosts
    with executor_for(config, executor) as ssh:
        read = facts.images(Docker(), repository)
        found = read_each(names, lambda host: ssh.read(host, read))
    rows: list[dict[str, Any]] = []
    for host, answer in answers(found, names, rows):
        for image in sorted(answer, key=lambda image: image.created or EPOCH, reverse=True):
            tags = [tag for repo, tag in map(split_reference, image.repo_tags) if repo == repository] or [None]
            for tag in sorted(tags, key=lambda tag: tag or ""):
                rows.append({"host": host, "repository": repository, "tag": tag, "id": short_id(image.id),
                             "created": image.created, "size": image.size})
    table = frame(rows, IMAGES_COLUMNS, times=("created",))
    table["size"] = table["size"].astype("Int64")
    return table
