"""Reads asked of the Docker Engine API: the exact requests, and the facts read from answers."""

import json
from urllib.parse import unquote

import pytest

from kamalnb import facts
from kamalnb.commands.app import App
from kamalnb.commands.docker import Docker
from kamalnb.executors.base import HttpResponse

LABELS = '"label":["service=app","destination=","role=web"]'


@pytest.fixture
def app(load_config, app_settings):
    config = load_config(app_settings())
    return App(config, config.role("web"), "1.1.1.1")


def answer(value, status=200):
    return HttpResponse(status, "OK" if status == 200 else "Error", body=json.dumps(value).encode())


def listed(*names):
    return answer([{"Id": f"{n:012x}" + "0" * 52, "Names": [f"/{name}"]} for n, name in enumerate(names, 1)])


def test_each_read_is_the_request_the_docker_cli_sends_for_its_command_line(app) -> None:
    current = app.engine_running_version()
    assert [unquote(path) for path in current.paths] == [
        '/images/json?filters={"reference":["dhh/app:latest"]}',
        f'/containers/json?filters={{{LABELS},"status":["running","restarting"]}}',
    ]
    assert current.cli == app.current_running_version()
    assert [unquote(path) for path in app.engine_versions().paths] == [f"/containers/json?filters={{{LABELS}}}"]
    assert [unquote(path) for path in app.engine_container_id("999").paths] == [
        '/containers/json?all=1&filters={"name":["^app-web-999$"]}']
    assert app.engine_status("999").paths == ("/containers/app-web-999/json",)


def test_a_read_shows_its_command_line_then_its_requests(app) -> None:
    assert str(app.engine_container_id("999")) == (
        "docker container ls --all --filter 'name=^app-web-999$' --quiet  "
        '[engine API: GET /containers/json?all=1&filters={"name":["^app-web-999$"]}]')


def test_the_running_version_is_the_newest_of_the_latest_image_else_the_newest(app) -> None:
    read = facts.running_version(app)
    latest = answer([{"Id": "sha256:old"}])
    newest_first = answer([{"Names": ["/app-web-2"], "ImageID": "sha256:new"},
                           {"Names": ["/app-web-1"], "ImageID": "sha256:old"}])
    assert read.parse([latest, newest_first]) == "1"
    assert read.parse([answer([]), newest_first]) == "2"
    assert read.parse([latest, answer([])]) is None


def test_versions_keep_a_renamed_aside_name_and_skip_link_aliases(app) -> None:
    both = answer([{"Names": ["/app-web-v2"]},
                   {"Names": ["/other/alias", "/app-web-v2_replaced_0123456789abcdef"]}])
    assert facts.running_versions(app).parse([both]) == ["v2", "v2_replaced_0123456789abcdef"]


def test_container_facts_read_from_an_inspection_and_none_when_it_is_gone(app) -> None:
    inspected = answer({"Id": "0123456789ab" + "f" * 52, "State": {"Status": "running", "Health": {"Status": "starting"}},
                        "NetworkSettings": {"Networks": {"kamal": {"IPAddress": "172.18.0.7"}}}})
    gone = answer({"message": "No such container: app-web-999"}, status=404)
    assert facts.container_ref("app-web-999").parse([inspected]) == "0123456789ab"
    assert facts.container_address("app-web-999", "kamal").parse([inspected]) == "172.18.0.7"
    assert facts.container_address("app-web-999", "other").parse([inspected]) is None
    assert facts.container_status(app, "999").parse([inspected]) == "starting"
    assert facts.container_status(app, "999").parse([answer({"State": {"Status": "exited"}})]) == "exited"
    assert facts.container_id(app, "999").parse([listed("app-web-999")]) == "000000000001"
    assert facts.container_id(app, "999").parse([answer([])]) is None
    for read in (facts.container_ref("x"), facts.container_address("x", "kamal")):
        assert read.parse([gone]) is None
    assert facts.container_status(app, "999").parse([gone]) == ""


def test_an_engine_error_is_an_answer_that_makes_no_sense(app) -> None:
    with pytest.raises(ValueError, match=r"the Docker engine answered 500: .*daemon is busy"):
        facts.running_versions(app).parse([answer({"message": "daemon is busy"}, status=500)])


def test_the_containers_read_inspects_each_listed_container_and_skips_one_gone_since() -> None:
    read = facts.containers(Docker(), ["--filter", "label=service=app"])
    request = read.request
    assert [unquote(path) for path in request.paths] == ['/containers/json?all=1&filters={"label":["service=app"]}']
    listing = answer([{"Id": "a" * 64}, {"Id": "b" * 64}])
    assert request.then([listing]) == (f"/containers/{'a' * 64}/json", f"/containers/{'b' * 64}/json")
    assert request.then([answer({"message": "busy"}, status=500)]) == ()
    one = {"Id": "a" * 64, "Name": "/app-web-1", "State": {"Status": "running"}, "Config": {"Image": "dhh/app:1"}}
    [found] = read.parse([listing, answer(one), answer({"message": "No such container"}, status=404)])
    assert (found.name, found.state, found.image) == ("app-web-1", "running", "dhh/app:1")


def test_the_latest_image_and_the_engine_are_read_from_their_answers(app) -> None:
    latest = facts.latest_image_id(app)
    assert [unquote(path) for path in latest.request.paths] == ['/images/json?filters={"reference":["dhh/app:latest"]}']
    assert latest.parse([answer([{"Id": "sha256:1"}])]) == "sha256:1"
    assert latest.parse([answer([])]) is None
    info = facts.engine(Docker()).parse([answer({"ServerVersion": "27.1.1", "ContainersRunning": 4,
                                                 "DockerRootDir": "/var/lib/docker", "Other": 1})])
    assert (info.server_version, info.containers_running, info.docker_root) == ("27.1.1", 4, "/var/lib/docker")
