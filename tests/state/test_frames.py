"""Fleet-state tables built from scripted host answers: exact rows, columns, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import kamalnb
from kamalnb import facts, state
from kamalnb.commands import App as AppCommands
from kamalnb.errors import HostError
from kamalnb.executors import Answer, EngineAnswer
from kamalnb.executors.base import HttpResponse
from kamalnb.proxy import RouteState
from tests.state.conftest import (
    H1,
    H2,
    H3,
    REPOSITORY,
    container,
    engine_replies,
    image_replies,
    inspect_replies,
    scripted,
    write_config,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
V1_ID, V2_ID = "sha256:" + "1" * 64, "sha256:" + "2" * 64
UNREACHABLE = f"cannot connect to {H3}:22: connection refused"


def records(table: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(row) for row in table[list(columns)].itertuples(index=False, name=None)]


def test_containers_one_row_per_container_and_an_error_row_per_unreadable_host(app) -> None:
    h1 = [
        container("statecheck-web-v1", created=T0, state="exited", image=f"{REPOSITORY}:v1", image_id=V1_ID),
        container("statecheck-worker-v2", created=T0 + timedelta(minutes=2), role="worker"),
        container("statecheck-web-v2", created=T0 + timedelta(minutes=1), health="healthy"),
    ]
    ssh = scripted({H1: inspect_replies(h1), H2: inspect_replies([]), H3: None})
    table = state.containers(app, ssh)
    assert list(table.columns) == list(state.CONTAINERS_COLUMNS)
    assert records(table, "host", "role", "container", "version", "state", "health", "image", "error") == [
        (H1, "web", "statecheck-web-v2", "v2", "running", "healthy", f"{REPOSITORY}:v2", None),
        (H1, "web", "statecheck-web-v1", "v1", "exited", None, f"{REPOSITORY}:v1", None),
        (H1, "worker", "statecheck-worker-v2", "v2", "running", None, f"{REPOSITORY}:v2", None),
        (H3, None, None, None, None, None, None, UNREACHABLE),
    ]
    assert table["created"].iloc[0] == pd.Timestamp(T0 + timedelta(minutes=1))
    assert isinstance(table["created"].dtype, pd.DatetimeTZDtype) and str(table["created"].dt.tz) == "UTC"
    assert "docker ps --all --quiet --no-trunc --filter label=service=statecheck --filter label=destination= " \
        '| xargs --no-run-if-empty docker inspect  [engine API: GET /containers/json?all=1&filters={"label":' \
        '["service=statecheck","destination="]}, then GET /containers/<id>/json for each]' in ssh.commands(H1)


def test_a_container_renamed_aside_by_a_redeploy_keeps_its_version_and_shows_as_replaced(app) -> None:
    h1 = [container("statecheck-web-v2", created=T0 + timedelta(minutes=1)),
          container("statecheck-web-v2_replaced_0123456789abcdef", created=T0, state="exited")]
    table = state.containers(app, scripted({H1: inspect_replies(h1), H2: inspect_replies([]), H3: inspect_replies([])}))
    assert records(table, "container", "version", "state", "replaced") == [
        ("statecheck-web-v2", "v2", "running", False),
        ("statecheck-web-v2_replaced_0123456789abcdef", "v2", "exited", True),
    ]


def engine_json(value: object) -> HttpResponse:
    return HttpResponse(200, "OK", body=json.dumps(value).encode())


def test_running_versions_keep_the_name_of_a_container_renamed_aside_so_it_can_be_stopped(app) -> None:
    commands = AppCommands(app.config, app.config.roles[0])
    read_one, read_all = facts.running_version(commands), facts.running_versions(commands)
    aside = {"Names": ["/statecheck-web-v2_replaced_0123456789abcdef"], "ImageID": "sha256:v2"}
    assert read_one.parse([engine_json([]), engine_json([aside])]) == "v2_replaced_0123456789abcdef"
    assert read_all.parse([engine_json([{"Names": ["/statecheck-web-v2"]}, aside])]) == [
        "v2", "v2_replaced_0123456789abcdef"]
    assert facts.without_replaced("v2_replaced_0123456789abcdef") == "v2"


def test_containers_honour_the_role_selection(tmp_path) -> None:
    app = kamalnb.load(write_config(tmp_path), version="v2", root=tmp_path, roles="worker")
    h1 = [container("statecheck-web-v2", created=T0), container("statecheck-worker-v2", created=T0, role="worker")]
    table = state.containers(app, scripted({H1: inspect_replies(h1)}))
    assert records(table, "host", "container") == [(H1, "statecheck-worker-v2")]


def fleet(h1: list[dict], h2: list[dict], h3: list[dict] | None, latest: dict[str, str]) -> dict:
    def host(items: list[dict] | None, name: str):
        if items is None:
            return None
        return [*inspect_replies(items), ("docker image ls", engine_replies(
            [{"Id": latest[name]}] if name in latest else []))]
    return {H1: host(h1, H1), H2: host(h2, H2), H3: host(h3, H3)}


def test_versions_follow_kamal_and_flag_the_hosts_off_the_prevailing_version(app) -> None:
    h1 = [
        container("statecheck-web-v2", created=T0),
        # Newer, but not from the image tagged latest: Kamal still takes v2 as current.
        container("statecheck-web-v1", created=T0 + timedelta(minutes=5), image=f"{REPOSITORY}:v1", image_id=V1_ID),
        container("statecheck-worker-v2", created=T0, role="worker"),
    ]
    h2 = [container("statecheck-web-v2", created=T0)]
    h3 = [container("statecheck-web-v1", created=T0, image=f"{REPOSITORY}:v1", image_id=V1_ID),
          container("statecheck-web-v0", created=T0 - timedelta(days=1), state="exited")]
    table = state.versions(app, scripted(fleet(h1, h2, h3, {H1: V2_ID, H2: V2_ID, H3: V1_ID})))
    assert list(table.columns) == list(state.VERSIONS_COLUMNS)
    assert records(table, "role", "host", "version", "container", "others", "mixed") == [
        ("web", H1, "v2", "statecheck-web-v2", "v1", False),
        ("web", H2, "v2", "statecheck-web-v2", "", False),
        ("web", H3, "v1", "statecheck-web-v1", "", True),
        ("worker", H1, "v2", "statecheck-worker-v2", "", False),
    ]


def test_versions_without_a_latest_tag_take_the_newest_and_show_gaps_and_errors(app) -> None:
    h1 = [container("statecheck-web-v1", created=T0, image_id=V1_ID),
          container("statecheck-web-v2", created=T0 + timedelta(minutes=1))]
    table = state.versions(app, scripted(fleet(h1, [], None, {})))
    assert records(table, "role", "host", "version", "others", "mixed", "error") == [
        ("web", H1, "v2", "v1", False, None),
        ("web", H2, None, "", False, None),
        ("web", H3, None, None, None, UNREACHABLE),
        ("worker", H1, None, "", False, None),
    ]


def test_a_tie_between_versions_flags_the_older_one(tmp_path) -> None:
    path = write_config(tmp_path, worker=False)
    app = kamalnb.load(path, version="v2", root=tmp_path, hosts=f"{H1},{H2}")
    h1 = [container("statecheck-web-v1", created=T0, image_id=V1_ID)]
    h2 = [container("statecheck-web-v2", created=T0 + timedelta(minutes=1))]
    table = state.versions(app, scripted(fleet(h1, h2, [], {})))
    assert records(table, "host", "version", "mixed") == [(H1, "v1", True), (H2, "v2", False)]


def test_drift_finds_unknown_roles_strays_hand_started_containers_and_gaps(app) -> None:
    h1 = [
        container("statecheck-web-v2", created=T0),
        container("statecheck-jobs-v2", created=T0, role="jobs"),
        container("hand", created=T0, role=None, destination=None, service=None),
        # Not drift: stopped, another destination, kamal app exec, another app, the proxy.
        container("statecheck-cron-v1", created=T0, role="cron", state="exited"),
        container("statecheck-web-staging-v2", created=T0, destination="staging"),
        container("statecheck-web-exec-v2-a1b2c3", created=T0, role=None, destination=None),
        container("other-web-v1", created=T0, service="other", image="localhost:5555/other:v1"),
        container("kamal-proxy", created=T0, role=None, destination=None, service=None, image="caddy:2"),
    ]
    h2 = [container("statecheck-worker-v2", created=T0, role="worker"),
          container("statecheck-web-v2", created=T0, state="restarting")]
    table = state.drift(app, scripted({H1: inspect_replies(h1), H2: inspect_replies(h2), H3: None}))
    assert list(table.columns) == list(state.DRIFT_COLUMNS)
    assert records(table, "kind", "host", "role", "container", "version", "state") == [
        ("unknown_role", H1, "jobs", "statecheck-jobs-v2", "v2", "running"),
        ("unlabelled", H1, None, "hand", None, "running"),
        ("missing", H1, "worker", None, None, None),
        ("unexpected_host", H2, "worker", "statecheck-worker-v2", "v2", "running"),
        ("unreachable", H3, None, None, None, None),
    ]
    details = list(table["detail"])
    assert "role jobs is not in the configuration" in details[0]
    assert "without Kamal's service/role/destination labels" in details[1]
    assert details[2] == "no running container of role worker, which the configuration puts here"
    assert details[3] == f"the configuration runs role worker on {H1}"
    assert details[4] == UNREACHABLE


def refused(path: str) -> HttpResponse:
    raise HostError(H2, "`docker system dial-stdio` failed: permission denied while trying to connect to the "
                        "Docker daemon socket")


def test_hosts_rows_tell_unreachable_from_failing(app) -> None:
    ssh = scripted({
        H1: [("docker info", engine_replies({"ServerVersion": "27.1.1", "ContainersRunning": 4,
                                              "DockerRootDir": "/var/lib/docker"})),
             ("df -Pk /var/lib/docker", "Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                                        "/dev/vda 1000 400 600 40% /\n")],
        H2: [("docker info", EngineAnswer(refused))],
        H3: None,
    })
    table = state.hosts(app, ssh)
    assert list(table.columns) == list(state.HOSTS_COLUMNS)
    assert records(table, "host", "roles", "reachable", "docker_version", "containers_running", "disk_free") == [
        (H1, "web, worker", True, "27.1.1", 4, 600 * 1024),
        (H2, "web", True, None, pd.NA, pd.NA),
        (H3, "web", False, None, pd.NA, pd.NA),
    ]
    assert table["error"][0] is None
    assert "permission denied" in table["error"][1]
    assert table["error"][2] == UNREACHABLE


def test_images_one_row_per_tag_of_the_repository(app) -> None:
    # Built within the same second, listed oldest first: inspected, they still sort newest first.
    listed = image_replies([
        {"Id": "sha256:" + "1" * 64, "RepoTags": [], "RepoDigests": [f"{REPOSITORY}@sha256:ab"],
         "Created": "2026-11-20T12:05:00.000001Z", "Size": 1000},
        {"Id": "sha256:" + "2" * 64, "RepoTags": [f"{REPOSITORY}:v2", f"{REPOSITORY}:latest", "elsewhere/app:x"],
         "Created": "2026-11-20T12:05:00.000002Z", "Size": 2000},
    ])
    ssh = scripted({H1: [("docker image ls", listed)], H2: [("docker image ls", image_replies([]))], H3: None})
    table = state.images(app, ssh)
    assert list(table.columns) == list(state.IMAGES_COLUMNS)
    assert records(table, "host", "repository", "tag", "id", "size") == [
        (H1, REPOSITORY, "latest", "222222222222", 2000),
        (H1, REPOSITORY, "v2", "222222222222", 2000),
        (H1, REPOSITORY, None, "111111111111", 1000),
        (H3, None, None, None, pd.NA),
    ]
    assert any(command.startswith(f"docker image ls --quiet --no-trunc {REPOSITORY} | xargs --no-run-if-empty "
                                  "docker image inspect  [engine API: GET /images/json?filters=") for command in ssh.commands(H1))


class Routes:
    def routes(self, host: str) -> list[RouteState]:
        if host == H3:
            from kamalnb.errors import HostError
            raise HostError(host, "cannot reach 127.0.0.1:2019")
        return [RouteState("statecheck-web", ("app.test",), (f"statecheck-web-{host}:80",), {f"statecheck-web-{host}:80": 2}),
                RouteState("another-web", (), ())]


def test_routes_per_upstream_with_our_roles_named(app) -> None:
    table = state.routes(app, scripted({}), driver=Routes())
    assert list(table.columns) == list(state.ROUTES_COLUMNS)
    assert records(table, "host", "route", "role", "domains", "upstream", "in_flight", "error") == [
        (H1, "another-web", None, "", None, pd.NA, None),
        (H1, "statecheck-web", "web", "app.test", f"statecheck-web-{H1}:80", 2, None),
        (H2, "another-web", None, "", None, pd.NA, None),
        (H2, "statecheck-web", "web", "app.test", f"statecheck-web-{H2}:80", 2, None),
        (H3, None, None, None, None, pd.NA, "cannot reach 127.0.0.1:2019"),
    ]


def lock_text(locked_at: datetime) -> str:
    return f"Locked by: Jane at {locked_at:%Y-%m-%dT%H:%M:%SZ}\nVersion: v2\nMessage: Automatic deploy lock\n"


def test_lock_held_and_stale_after_the_configured_age(tmp_path) -> None:
    app = kamalnb.load(write_config(tmp_path, extra="x-kamalnb:\n  lock_stale_after: 60\n"), version="v2", root=tmp_path)
    locked_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    ssh = scripted({H1: [("stat .kamal/lock-statecheck", lock_text(locked_at))]})
    table = state.lock_status(app, ssh)
    assert list(table.columns) == list(state.LOCK_COLUMNS)
    [row] = table.to_dict("records")
    assert (row["host"], row["held"], row["locked_by"], row["version"], row["message"], row["stale"], row["error"]) == (
        H1, True, "Jane", "v2", "Automatic deploy lock", True, None)
    assert row["locked_at"] == pd.Timestamp(locked_at)
    assert timedelta(minutes=5) <= row["age"] < timedelta(minutes=6)
    assert ssh.commands(H1) == ["stat .kamal/lock-statecheck > /dev/null && cat .kamal/lock-statecheck/details | base64 -d"]


def test_lock_free_fresh_or_unreadable(app) -> None:
    free = scripted({H1: [("stat", Answer(stderr="stat: cannot statx '.kamal/lock-statecheck': No such file or directory\n",
                                           exit_status=1))]})
    assert records(state.lock_status(app, free), "host", "held", "stale", "error") == [(H1, False, None, None)]
    fresh = scripted({H1: [("stat", lock_text(datetime.now(UTC)))]})
    assert records(state.lock_status(app, fresh), "held", "stale") == [(True, False)]
    broken = scripted({H1: [("stat", Answer(stderr="base64: invalid input\n", exit_status=1))]})
    [row] = state.lock_status(app, broken).to_dict("records")
    assert row["held"] is None and "base64: invalid input" in row["error"]


def test_audit_merges_hosts_by_time(tmp_path) -> None:
    path = write_config(tmp_path)
    (path.parent / "deploy.staging.yml").write_text("")
    app = kamalnb.load(path, "staging", version="v2", root=tmp_path)
    h1 = ("[2026-11-20T12:00:00Z] [jane@example.com] [staging] [web] Booted app version v1\n"
          "[2026-11-20T12:10:00Z] [jane@example.com] [staging] [web] Booted app version v2\n")
    h2 = "[2026-11-20T12:05:00Z] [joe@example.com] [staging] Pruned images\n"
    ssh = scripted({H1: [("tail", h1)], H2: [("tail", h2)], H3: [("tail", Answer(
        stderr="tail: cannot open '.kamal/statecheck-staging-audit.log' for reading: No such file or directory\n",
        exit_status=1))]})
    table = state.audit(app, ssh, lines=10)
    assert list(table.columns) == list(state.AUDIT_COLUMNS)
    assert records(table, "host", "performer", "destination", "role", "message") == [
        (H1, "jane@example.com", "staging", "web", "Booted app version v1"),
        (H2, "joe@example.com", "staging", None, "Pruned images"),
        (H1, "jane@example.com", "staging", "web", "Booted app version v2"),
    ]
    assert list(table["time"]) == [pd.Timestamp("2026-11-20T12:00:00Z"), pd.Timestamp("2026-11-20T12:05:00Z"),
                                   pd.Timestamp("2026-11-20T12:10:00Z")]
    assert ssh.commands(H1) == ["tail -n 10 .kamal/statecheck-staging-audit.log"]


def test_audit_reports_an_unreachable_host_and_refuses_a_bad_line_count(app) -> None:
    table = state.audit(app, scripted({H1: [("tail", "[2026-11-20T12:00:00Z] [root] Pruned images\n")], H2: [], H3: None}))
    assert records(table, "host", "message", "error") == [(H1, "Pruned images", None), (H3, None, UNREACHABLE)]
    with pytest.raises(ValueError, match="lines should be a whole number above 0"):
        state.audit(app, scripted({}), lines=0)


def test_empty_tables_keep_their_columns(tmp_path) -> None:
    app = kamalnb.load(write_config(tmp_path), version="v2", root=tmp_path)
    table = state.containers(app, scripted({H1: inspect_replies([]), H2: inspect_replies([]), H3: inspect_replies([])}))
    assert table.empty and list(table.columns) == list(state.CONTAINERS_COLUMNS)


def test_an_answer_that_cannot_be_parsed_is_that_hosts_error(app) -> None:
    ssh = scripted({H1: [("docker ps", EngineAnswer(lambda path: HttpResponse(200, "OK", body=b"<html>proxy error</html>")))],
                    H2: inspect_replies([]), H3: inspect_replies([])})
    table = state.containers(app, ssh)
    assert records(table, "host", "container") == [(H1, None)]
    assert table["error"][0].startswith("unexpected answer: ")
