"""Fleet state without a configuration: every Docker engine, container and image on a list
of hosts, whoever started them. For a fleet you did not deploy from here (no deploy.yml),
or to see what else runs beside an app. Kamal's labels (`service`, `role`,
`destination`) are read where a container has them, so Kamal's apps stand out.

Every function takes the host names and an executor that can reach them, and returns a
frame with exactly the columns of its `FLEET_*_COLUMNS` constant; a host that cannot be
read gives a row whose `error` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from kamalnb import facts
from kamalnb.commands import Docker
from kamalnb.facts import ContainerInfo, current_container, is_replaced, split_reference, version_from_name
from kamalnb.state.base import (
    EPOCH,
    answers,
    error_text,
    frame,
    inspect_containers,
    reachable,
    read_each,
    role_prefix,
    short_id,
)
from kamalnb.state.engine import engine_and_disk

if TYPE_CHECKING:
    from kamalnb.executors import Executor

FLEET_HOSTS_COLUMNS = ("host", "reachable", "docker_version", "containers", "containers_running", "images",
                       "images_size", "docker_root", "disk_free", "error")
FLEET_CONTAINERS_COLUMNS = ("host", "container", "service", "role", "destination", "version", "state", "replaced",
                            "health", "created", "image", "id", "error")
FLEET_IMAGES_COLUMNS = ("host", "repository", "tag", "service", "id", "created", "size", "used_by", "error")
FLEET_VERSIONS_COLUMNS = ("service", "destination", "role", "host", "version", "container", "created", "others",
                          "mixed", "error")


def kamal_version(container: ContainerInfo) -> str | None:
    """The version of a container Kamal started, from its name and labels (as `containers()`
    reads it for a configured app); None for a container without Kamal's `role` label."""
    labels = container.labels
    if "role" not in labels or "service" not in labels:
        return None
    prefix = role_prefix(labels["service"], labels["role"], labels.get("destination"))
    return version_from_name(container.name, prefix) or container.env.get("KAMAL_VERSION")


def _by_name(containers: list[ContainerInfo]) -> list[ContainerInfo]:
    return sorted(containers, key=lambda c: (c.labels.get("service", "~"), c.labels.get("role", ""),
                                             -(c.created or EPOCH).timestamp(), c.name))


def hosts(names: Sequence[str], executor: Executor) -> pd.DataFrame:
    """Each host's Docker engine and disk: version, containers (all, and running), images
    (how many, their size together) and the space left where Docker keeps them."""
    docker = Docker()

    def read(host: str) -> tuple[Any, int | None, list[ContainerInfo], list[facts.ImageInfo]]:
        engine, free = engine_and_disk(executor, host)
        return (engine, free, inspect_containers(executor, host),
                executor.read(host, facts.images(docker, None)))

    found = read_each(list(names), read)
    rows: list[dict[str, Any]] = []
    for host in names:
        if host in found.errors:
            rows.append({"host": host, "reachable": reachable(found.errors[host]),
                         "error": error_text(found.errors[host])})
            continue
        engine, free, containers, images_found = found.results[host]
        rows.append({"host": host, "reachable": True, "docker_version": engine.server_version,
                     "containers": len(containers), "containers_running": engine.containers_running,
                     "images": len(images_found), "images_size": sum(image.size for image in images_found),
                     "docker_root": engine.docker_root, "disk_free": free})
    table = frame(rows, FLEET_HOSTS_COLUMNS)
    for column in ("containers", "containers_running", "images", "images_size", "disk_free"):
        table[column] = table[column].astype("Int64")
    return table


def containers(names: Sequence[str], executor: Executor) -> pd.DataFrame:
    """Every container on every host, in any state: by host, then Kamal's services (by
    service and role, newest first), then the containers without Kamal's labels."""
    found = read_each(list(names), lambda host: inspect_containers(executor, host))
    rows: list[dict[str, Any]] = []
    for host, answer in answers(found, names, rows):
        for container in _by_name(answer):
            labels = container.labels
            rows.append({
                "host": host, "container": container.name, "service": labels.get("service"),
                "role": labels.get("role"), "destination": labels.get("destination") or None,
                "version": kamal_version(container), "state": container.state,
                "replaced": is_replaced(container.name), "health": container.health, "created": container.created,
                "image": container.image, "id": short_id(container.id),
            })
    return frame(rows, FLEET_CONTAINERS_COLUMNS, times=("created",))


def images(names: Sequence[str], executor: Executor) -> pd.DataFrame:
    """Every image on every host, newest first: a row per tag (an untagged image one row
    with no tag); `service` is the label Kamal's builds carry; `used_by` counts the
    containers (any state) created from it."""
    docker = Docker()

    def read(host: str) -> tuple[list[facts.ImageInfo], list[ContainerInfo]]:
        return executor.read(host, facts.images(docker, None)), inspect_containers(executor, host)

    found = read_each(list(names), read)
    rows: list[dict[str, Any]] = []
    for host, (images_found, containers_found) in answers(found, names, rows):
        for image in sorted(images_found, key=lambda image: image.created or EPOCH, reverse=True):
            used_by = sum(1 for container in containers_found if facts.same_image(container.image_id, image.id))
            references: list[tuple[str | None, str | None]] = [split_reference(tag) for tag in image.repo_tags]
            references = references or [(split_reference(digest)[0], None) for digest in image.repo_digests[:1]]
            references = references or [(None, None)]
            for repository, tag in sorted(references, key=lambda pair: (pair[0] or "", pair[1] or "")):
                rows.append({"host": host, "repository": repository, "tag": tag,
                             "service": image.labels.get("service"), "id": short_id(image.id),
                             "created": image.created, "size": image.size, "used_by": used_by})
    table = frame(rows, FLEET_IMAGES_COLUMNS, times=("created",))
    for column in ("size", "used_by"):
        table[column] = table[column].astype("Int64")
    return table


def versions(names: Sequence[str], executor: Executor) -> pd.DataFrame:
    """Which version of each Kamal app serves where, from the containers' labels alone: one
    row per service, destination, role and host that has a container of it. `version` is
    the newest running one (Kamal's `latest` tag is not consulted: without the configuration
    its image name is unknown); `others` the other versions running beside it; `mixed` is
    True where a role's version differs from the one most of its hosts run."""
    found = read_each(list(names), lambda host: inspect_containers(executor, host, ["--filter", "label=role"]))
    rows: list[dict[str, Any]] = []
    groups: dict[tuple[str, str, str, str], list[ContainerInfo]] = {}
    for host, answer in answers(found, names, rows):
        for container in answer:
            labels = container.labels
            if "service" in labels and "role" in labels:
                key = (labels["service"], labels.get("destination", ""), labels["role"], host)
                groups.setdefault(key, []).append(container)
    order = {host: index for index, host in enumerate(names)}
    for service, destination, role, host in sorted(groups, key=lambda key: (*key[:3], order[key[3]])):
        own = groups[(service, destination, role, host)]
        current = current_container(own, None)
        others = sorted({kamal_version(c) or c.name for c in own if c.active and c is not current})
        rows.append({"service": service, "destination": destination or None, "role": role, "host": host,
                     "version": kamal_version(current) if current else None,
                     "container": current.name if current else None,
                     "created": current.created if current else None, "others": ", ".join(others)})
    _flag_mixed(rows)
    return frame(rows, FLEET_VERSIONS_COLUMNS, times=("created",))


def _flag_mixed(rows: list[dict[str, Any]]) -> None:
    by_role: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("error") is None:
            by_role.setdefault((row["service"], row["destination"], row["role"]), []).append(row)
    for group in by_role.values():
        running = [row["version"] for row in group if row["version"]]
        prevailing = max(sorted(set(running)), key=running.count) if running else None
        for row in group:
            row["mixed"] = bool(row["version"]) and len(set(running)) > 1 and row["version"] != prevailing
