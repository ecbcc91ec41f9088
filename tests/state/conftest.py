"""A configuration and a scripted executor for fleet-state tables without hosts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import pytest

import kamalnb
from kamalnb.errors import HostUnreachable
from kamalnb.executors import Answer, EngineAnswer, HttpResponse, PlanExecutor

H1, H2, H3 = "10.9.0.1", "10.9.0.2", "10.9.0.3"
REPOSITORY = "localhost:5555/statecheck/app"


def write_config(directory: Path, *, worker: bool = True, extra: str = "") -> Path:
    worker_role = f"  worker:\n    hosts:\n      - {H1}\n    proxy: false\n" if worker else ""
    path = directory / "config" / "deploy.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "service: statecheck\nimage: statecheck/app\n"
        f"servers:\n  web:\n    hosts:\n      - {H1}\n      - {H2}\n      - {H3}\n{worker_role}"
        "registry:\n  server: localhost:5555\n"
        "builder:\n  arch: amd64\n" + extra
    )
    return path


@pytest.fixture
def app(tmp_path):
    return kamalnb.load(write_config(tmp_path), version="v2", root=tmp_path)


def container(name: str, *, created: datetime, role: str | None = "web", state: str = "running",
              image: str = f"{REPOSITORY}:v2", image_id: str = "sha256:" + "2" * 64, health: str | None = None,
              destination: str | None = "", service: str | None = "statecheck") -> dict:
    """One item of `docker inspect`, with the fields real output has (see fixtures/)."""
    labels = {key: value for key, value in (("service", service), ("role", role), ("destination", destination))
              if value is not None}
    version = name.rsplit("-", 1)[-1]
    return {
        "Id": (name.encode().hex() * 8)[:64],
        "Name": f"/{name}",
        "Created": created.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
        "Image": image_id,
        "State": {"Status": state, "StartedAt": "0001-01-01T00:00:00Z",
                  **({"Health": {"Status": health}} if health else {})},
        "Config": {"Image": image, "Labels": labels,
                   "Env": [f"KAMAL_CONTAINER_NAME={name}", f"KAMAL_VERSION={version}"] if role else []},
    }


Reply = Callable[[str], "Answer | EngineAnswer | str | None"]


def scripted(replies: dict[str, list[tuple[str, Answer | EngineAnswer | str | Reply]] | None]) -> PlanExecutor:
    """An executor answering each host's commands by prefix; a host mapped to None is unreachable."""

    def answer(host: str, command: str) -> Answer | EngineAnswer | str | None:
        script = replies.get(host)
        if script is None:
            raise HostUnreachable(host, f"cannot connect to {host}:22: connection refused")
        for prefix, reply in script:
            if command.startswith(prefix):
                return reply(command) if callable(reply) else reply
        return None

    return PlanExecutor([(answer, None)])


def engine_json(value: object) -> HttpResponse:
    return HttpResponse(200, "OK", body=json.dumps(value).encode())


def listed_then_inspected(items: list[dict], listing: str) -> EngineAnswer:
    """The engine answering `listing` (`/containers/json`, `/images/json`) with these items'
    IDs, then each one inspected with its item."""
    by_id = {item["Id"]: item for item in items}

    def respond(path: str) -> HttpResponse:
        route = unquote(path.partition("?")[0])
        if route == listing:
            return engine_json([{"Id": item_id} for item_id in by_id])
        return engine_json(by_id[route.split("/")[2]])

    return EngineAnswer(respond)


def inspect_replies(items: list[dict]) -> list[tuple[str, EngineAnswer]]:
    """What the engine answers for these containers (`docker inspect` items)."""
    return [("docker ps", listed_then_inspected(items, "/containers/json"))]


def image_replies(items: list[dict]) -> EngineAnswer:
    """What the engine answers for these images (`docker image inspect` items)."""
    return listed_then_inspected(items, "/images/json")


def engine_replies(value: object) -> EngineAnswer:
    """The engine answering `value` to every request of a read."""
    return EngineAnswer(lambda path: engine_json(value))
