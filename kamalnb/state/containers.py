"""The app's containers on every host: what runs, which version serves where, and drift."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.facts import ContainerInfo, current_container, is_replaced, version_from_name
from kamalnb.state.base import (
    EPOCH,
    answers,
    app_filters,
    config_of,
    error_text,
    executor_for,
    frame,
    inspect_containers,
    read_each,
    role_prefix,
    short_id,
)

if TYPE_CHECKING:
    from kamalnb.config import Configuration
    from kamalnb.executors import Executor

CONTAINERS_COLUMNS = ("host", "role", "container", "version", "state", "replaced", "health", "created", "image", "id",
                      "error")
VERSIONS_COLUMNS = ("role", "host", "version", "container", "created", "others", "mixed", "error")
ROLLBACK_COLUMNS = ("version", "created", "running_on", "present", "missing", "can_roll_back")
DRIFT_COLUMNS = ("kind", "host", "role", "container", "version", "image", "state", "detail")
DRIFT_KINDS = ("unreachable", "unknown_role", "unexpected_host", "unlabelled", "missing")


def _selected_role_names(config: Configuration) -> list[str]:
    return [role.name for role in config.specifics.roles]


def container_version(config: Configuration, container: ContainerInfo) -> str | None:
    """The version after `<service>-<role>[-<destination>]-` in the name, else KAMAL_VERSION."""
    labels = container.labels
    if "role" not in labels:
        return container.env.get("KAMAL_VERSION")
    prefix = role_prefix(labels.get("service", config.service), labels["role"], labels.get("destination"))
    return version_from_name(container.name, prefix) or container.env.get("KAMAL_VERSION")


def _newest_first(containers: list[ContainerInfo]) -> list[ContainerInfo]:
    return sorted(containers, key=lambda c: (c.labels.get("role", ""), -(c.created or EPOCH).timestamp(), c.name))


def containers(app: Any, executor: Executor | None = None) -> pd.DataFrame:
    """The app's containers (this service and destination, any state) on every app host.

    One row per container, by host, role, newest first; a host that could not be read
    gives one row with only `host` and `error`.
    """
    config = config_of(app)
    hosts = config.specifics.app_hosts
    roles = set(_selected_role_names(config)) if config.specifics.specific_roles else None
    with executor_for(config, executor) as ssh:
        found = read_each(hosts, lambda host: inspect_containers(ssh, host, app_filters(config)))
    rows: list[dict[str, Any]] = []
    for host, answer in answers(found, hosts, rows):
        for container in _newest_first(answer):
            role = container.labels.get("role")
            if roles is not None and role not in roles:
                continue
            rows.append({
                "host": host, "role": role, "container": container.name,
                "version": container_version(config, container), "state": container.state,
                "replaced": is_replaced(container.name),
                "health": container.health, "created": container.created, "image": container.image,
                "id": short_id(container.id),
            })
    return frame(rows, CONTAINERS_COLUMNS, times=("created",))


def versions(app: Any, executor: Executor | None = None) -> pd.DataFrame:
    """Which version serves where: one row per configured role and host.

    `version` is the role's current version on that host as Kamal determines it (the newest
    running container of the image tagged `latest[-<destination>]`, else the newest running
    one); `others` lists other versions running beside it; `mixed` is True on rows whose
    version is not the one most of the fleet runs (on a tie: the most recently started).
    """
    config = config_of(app)
    pairs = config.specifics.role_hosts
    hosts = list(dict.fromkeys(host for host, _ in pairs))
    latest = facts.latest_image_id(AppCommands(config, None))

    def read(host: str) -> tuple[list[ContainerInfo], str | None]:
        return inspect_containers(ssh, host, app_filters(config)), ssh.read(host, latest)

    with executor_for(config, executor) as ssh:
        found = read_each(hosts, read)
    rows: list[dict[str, Any]] = []
    for host, role in pairs:
        if host in found.errors:
            rows.append({"role": role.name, "host": host, "error": error_text(found.errors[host])})
            continue
        listed, latest_id = found.results[host]
        own = [c for c in listed if c.labels.get("role") == role.name]
        current = current_container(own, latest_id)
        version = container_version(config, current) if current else None
        others = sorted({container_version(config, c) or c.name for c in own if c.active and c is not current})
        rows.append({
            "role": role.name, "host": host, "version": version, "container": current.name if current else None,
            "created": current.created if current else None, "others": ", ".join(others),
        })
    _flag_mixed(rows)
    return frame(rows, VERSIONS_COLUMNS, times=("created",))


def rollback_versions(app: Any, executor: Executor | None = None) -> pd.DataFrame:
    """The versions whose containers are still on the hosts, newest first: one row per
    version, and whether a rollback can go to it.

    A rollback boots a version from the container it left behind (no pull), so it needs a
    container of that version for every configured role on every one of the role's hosts.
    `present` counts those (role, host) pairs that have one, as `n/total`; `missing` names
    the others (`web on 10.0.0.2`; `(unreadable)` when the host could not be read);
    `running_on` the hosts where it runs now; `can_roll_back` is True when none is missing
    and it is not already what every host runs. Containers a redeploy renamed aside
    (`_replaced_`) do not count: a rollback cannot boot them.
    """
    config = config_of(app)
    pairs = [(host, role.name) for host, role in config.specifics.role_hosts]
    hosts = list(dict.fromkeys(host for host, _ in pairs))
    with executor_for(config, executor) as ssh:
        found = read_each(hosts, lambda host: inspect_containers(ssh, host, app_filters(config)))
    present: dict[str, set[tuple[str, str]]] = {}
    running: dict[str, list[str]] = {}
    created: dict[str, Any] = {}
    for host in hosts:
        for container in found.results.get(host, []):
            role = container.labels.get("role")
            version = container_version(config, container)
            if version is None or role is None or is_replaced(container.name):
                continue
            present.setdefault(version, set()).add((host, role))
            created[version] = max(created.get(version) or EPOCH, container.created or EPOCH)
            if container.active and host not in running.setdefault(version, []):
                running[version].append(host)
    rows = []
    for version in sorted(present, key=lambda version: created[version], reverse=True):
        missing = [f"{role} on {host}" + (" (unreadable)" if host in found.errors else "")
                   for host, role in pairs if (host, role) not in present[version]]
        everywhere = set(running.get(version, [])) >= set(hosts)
        rows.append({"version": version, "created": None if created[version] == EPOCH else created[version],
                     "running_on": ", ".join(host for host in hosts if host in running.get(version, [])),
                     "present": f"{len(pairs) - len(missing)}/{len(pairs)}", "missing": ", ".join(missing),
                     "can_roll_back": not missing and not everywhere})
    return frame(rows, ROLLBACK_COLUMNS, times=("created",))


def _flag_mixed(rows: list[dict[str, Any]]) -> None:
    running = [row for row in rows if row.get("version")]
    counts = Counter(row["version"] for row in running)
    newest = {version: max((row["created"] or EPOCH) for row in running if row["version"] == version)
              for version in counts}
    prevailing = max(counts, key=lambda version: (counts[version], newest[version])) if counts else None
    for row in rows:
        if row.get("error") is None:
            row["mixed"] = bool(row.get("version")) and len(counts) > 1 and row["version"] != prevailing


def _exec_container(config: Configuration, name: str) -> bool:
    """`<prefix>-exec-<version>-<6 hex>`: what `kamal app exec` starts, not drift."""
    return re.match(rf"^{re.escape(config.service)}-.+-exec-.+-[0-9a-f]{{6}}$", name) is not None


def _finding(kind: str, host: str, container: ContainerInfo | None, config: Configuration, detail: str,
             role: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": kind, "host": host, "role": role, "detail": detail}
    if container is not None:
        row.update(role=container.labels.get("role", role), container=container.name,
                   version=container_version(config, container), image=container.image, state=container.state)
    return row


def _classify(config: Configuration, host: str, container: ContainerInfo) -> dict[str, Any] | None:
    labels = container.labels
    ours = labels.get("service") == config.service or container.repository == config.repository
    if not ours or not container.active or _exec_container(config, container.name):
        return None
    if labels.get("service") != config.service or "role" not in labels or "destination" not in labels:
        return _finding("unlabelled", host, container, config,
                        f"runs {container.image} without Kamal's service/role/destination labels, "
                        "so Kamal cannot see it (started by hand?)")
    if labels["destination"] != (config.destination or ""):
        return None
    role = config.role(labels["role"])
    if role is None:
        return _finding("unknown_role", host, container, config,
                        f"role {labels['role']} is not in the configuration (removed from deploy.yml?)")
    if host not in role.hosts:
        return _finding("unexpected_host", host, container, config,
                        f"the configuration runs role {role.name} on {', '.join(role.hosts) or 'no host'}")
    return None


def drift(app: Any, executor: Executor | None = None) -> pd.DataFrame:
    """What runs on the app hosts that the configuration does not know, and what it
    expects but is missing. One row per finding; `kind` is one of DRIFT_KINDS."""
    config = config_of(app)
    hosts = config.specifics.app_hosts
    with executor_for(config, executor) as ssh:
        found = read_each(hosts, lambda host: inspect_containers(ssh, host))
    rows: list[dict[str, Any]] = []
    for host in hosts:
        if host in found.errors:
            rows.append(_finding("unreachable", host, None, config, error_text(found.errors[host])))
            continue
        answer = found.results[host]
        rows += [row for row in (_classify(config, host, c) for c in answer) if row is not None]
        for role in config.specifics.roles_on(host):
            if not any(c.active and c.labels.get("service") == config.service
                       and c.labels.get("destination") == (config.destination or "")
                       and c.labels.get("role") == role.name for c in answer):
                rows.append(_finding("missing", host, None, config,
                                     f"no running container of role {role.name}, which the configuration puts here",
                                     role=role.name))
    order = {host: index for index, host in enumerate(hosts)}
    rows.sort(key=lambda row: (order[row["host"]], DRIFT_KINDS.index(row["kind"]), row.get("role") or "",
                               row.get("container") or ""))
    return frame(rows, DRIFT_COLUMNS)
