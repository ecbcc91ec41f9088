"""Parsers of what the hosts answer, on real `docker inspect`, engine API and `df` output."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kamalnb.facts import (
    AuditEntry,
    container_infos,
    current_container,
    image_infos,
    parse_audit_line,
    parse_df_available,
    parse_docker_time,
    parse_lock_details,
    same_image,
    split_reference,
    version_from_name,
)

FIXTURES = Path(__file__).parent / "fixtures"
IMAGE = "10.231.1.1:5000/sample/app:fleet-check"
IMAGE_ID = "sha256:2b21963ffc9c8e7b939abfa3bf07f884097053d8878cb8787658dddb39e83379"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(scope="module")
def inspected():
    return {c.name: c for c in container_infos(json.loads((FIXTURES / "docker_inspect_containers.json").read_text()))}


def test_docker_times_keep_microseconds_and_the_zero_time_is_none() -> None:
    assert parse_docker_time("2026-11-26T23:35:21.538828156Z") == utc(2026, 11, 26, 23, 35, 21, 538828)
    assert parse_docker_time("2026-11-26T23:35:21Z") == utc(2026, 11, 26, 23, 35, 21)
    assert parse_docker_time("2026-11-26T23:35:21.5+01:00") == utc(2026, 11, 26, 22, 35, 21, 500000)
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("yesterday") is None
    assert parse_docker_time(None) is None


def test_container_inspect_gives_state_health_labels_and_env(inspected) -> None:
    assert list(inspected) == ["factscheck-web-v1", "factscheck-web-v2", "factscheck-worker-staging-v2",
                               "factscheck-hand", "factscheck-web-assets"]
    stopped, healthy, unhealthy, hand, created = inspected.values()
    assert (stopped.state, stopped.health, stopped.active) == ("exited", None, False)
    assert (healthy.state, healthy.health, healthy.active) == ("running", "healthy", True)
    assert (unhealthy.state, unhealthy.health) == ("running", "unhealthy")
    assert (created.state, created.started) == ("created", None)
    assert healthy.labels == {"service": "factscheck", "role": "web", "destination": ""}
    assert unhealthy.labels["destination"] == "staging"
    assert hand.labels == {}
    assert healthy.env["KAMAL_VERSION"] == "v2" and "KAMAL_VERSION" not in hand.env
    assert healthy.image == IMAGE and healthy.repository == "10.231.1.1:5000/sample/app"
    assert healthy.image_id == IMAGE_ID
    assert healthy.created == utc(2026, 11, 26, 23, 38, 10, 382036)
    assert stopped.created < healthy.created < unhealthy.created


def test_image_inspect_gives_tags_size_and_creation() -> None:
    first, second = image_infos(json.loads((FIXTURES / "docker_image_inspect.json").read_text()))
    assert first.id == IMAGE_ID
    assert first.repo_tags == (IMAGE, "10.231.1.1:5000/sample/app:worker-check")
    assert first.size == 1985199
    assert first.created == utc(2026, 11, 26, 23, 21, 36, 947154)
    assert second.repo_tags == ("10.231.1.1:5000/sample/app:sick",)


@pytest.mark.parametrize(("reference", "expected"), [
    ("10.231.1.1:5000/sample/app:v1", ("10.231.1.1:5000/sample/app", "v1")),
    ("10.231.1.1:5000/sample/app", ("10.231.1.1:5000/sample/app", None)),
    ("dhh/app@sha256:abc", ("dhh/app", None)),
    ("app:latest-staging", ("app", "latest-staging")),
])
def test_split_reference(reference, expected) -> None:
    assert split_reference(reference) == expected


def test_version_is_what_follows_the_prefix() -> None:
    assert version_from_name("app-web-staging-abc123", "app-web-staging") == "abc123"
    assert version_from_name("app-web-abc_replaced_0123abcd", "app-web") == "abc"
    assert version_from_name("app-worker-abc", "app-web") is None
    assert version_from_name("app-web-", "app-web") is None


def test_current_container_prefers_the_latest_image_then_the_newest(inspected) -> None:
    web_v1, web_v2 = inspected["factscheck-web-v1"], inspected["factscheck-web-v2"]
    older = replace(web_v2, name="factscheck-web-v0", image_id="sha256:" + "0" * 64,
                    created=web_v2.created - timedelta(hours=1))
    newer = replace(web_v2, name="factscheck-web-v3", image_id="sha256:" + "3" * 64,
                    created=web_v2.created + timedelta(hours=1))
    # The newest running container of the image tagged latest wins over a newer one of another image.
    assert current_container([older, web_v2, newer], IMAGE_ID[:19]) is web_v2
    # Without a latest image (or none running from it): the newest running container.
    assert current_container([older, web_v2, newer], None) is newer
    assert current_container([older, web_v2], "sha256:" + "f" * 64) is web_v2
    # Stopped containers never count.
    assert current_container([web_v1], IMAGE_ID) is None
    restarting = replace(web_v1, state="restarting")
    assert current_container([restarting], None) is restarting


def test_image_ids_compare_abbreviated_and_prefixed() -> None:
    assert same_image(IMAGE_ID, IMAGE_ID[7:19])
    assert same_image(IMAGE_ID[7:], IMAGE_ID)
    assert not same_image(IMAGE_ID, "sha256:2168dfc87e33")
    assert not same_image(IMAGE_ID, "")


def test_free_disk() -> None:
    df = ("Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
          "/dev/vda         264212084 25309008  81081904      24% /var/lib/docker\n")
    assert parse_df_available(df) == 81081904 * 1024
    wrapped = ("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
               "/dev/mapper/a-very-long-volume-group-name-root\n"
               "                  1000      400       600      40% /\n")
    assert parse_df_available(wrapped) == 600 * 1024
    assert parse_df_available("") is None


def test_audit_lines_split_into_tags_and_message() -> None:
    line = "[2023-11-14T22:13:20Z] [jane@example.com] [staging] [web] Booted app version abc1234def"
    assert parse_audit_line(line, "staging") == AuditEntry(
        utc(2023, 11, 14, 22, 13, 20), "jane@example.com", "staging", ("web",), "Booted app version abc1234def", line)
    plain = parse_audit_line("[2023-11-14T22:13:20Z] [jane@example.com] Pruned images\n")
    assert (plain.performer, plain.destination, plain.details, plain.message) == (
        "jane@example.com", None, (), "Pruned images")
    # Without a configured destination the first tag is a detail (the role), not a destination.
    assert parse_audit_line("[2023-11-14T22:13:20Z] [root] [web] Started app version 1").details == ("web",)
    odd = parse_audit_line("something else entirely")
    assert (odd.recorded_at, odd.message) == (None, "something else entirely")


def test_lock_details_are_still_parsed() -> None:
    info = parse_lock_details("Locked by: Jane at 2023-11-14T22:13:20Z\nVersion: abc\nMessage: Automatic deploy lock")
    assert (info.locked_by, info.version, info.message) == ("Jane", "abc", "Automatic deploy lock")
