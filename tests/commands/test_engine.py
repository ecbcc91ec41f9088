"""Requests to the Docker Engine API: the exact requests, the facts read from answers, and
what each change sends given what the engine answered first."""

import json
from urllib.parse import unquote

import pytest

from kamalnb import facts
from kamalnb.commands import engine as engine_api
from kamalnb.commands.app import App
from kamalnb.commands.base import Command
from kamalnb.commands.docker import Docker
from kamalnb.commands.prune import Prune
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


# ---- changes ------------------------------------------------------------------------------------

def sent(request, answers=()):
    """What a change sends: its own requests, then those its `then` names from `answers`."""
    calls = [engine_api.as_call(path) for path in request.paths]
    if request.then is not None:
        calls += [engine_api.as_call(path) for path in request.then(list(answers))]
    return [(call.method, unquote(call.path), call.body) for call in calls]


def test_a_stop_lists_the_container_by_its_exact_name_then_stops_each_with_the_roles_timeout(app) -> None:
    request = app.engine_stop("999")
    assert str(request) == (
        "docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker stop  "
        '[engine API: GET /containers/json?all=1&filters={"name":["^app-web-999$"]}, '
        "then POST /containers/<each>/stop]")
    assert sent(request, [listed("app-web-999")]) == [
        ("GET", '/containers/json?all=1&filters={"name":["^app-web-999$"]}', None),
        ("POST", f"/containers/{1:012x}{'0' * 52}/stop", None)]
    assert sent(request, [listed()])[1:] == []
    # An already stopped container answers 304: docker stop says nothing either.
    assert request.refusal([listed("app-web-999"), HttpResponse(304, "Not Modified")]) is None


def test_a_stop_with_a_stop_timeout_passes_it_and_waits_past_it(load_config, app_settings) -> None:
    settings = app_settings()
    settings["servers"] = {"web": ["1.1.1.1"], "workers": {"hosts": ["1.1.1.1"], "proxy": False}}
    config = load_config(settings)
    request = App(config, config.role("workers"), "1.1.1.1").engine_stop("999")
    assert str(request).endswith("then POST /containers/<each>/stop?t=30]")
    assert sent(request, [listed("app-workers-999")])[1][1].endswith("/stop?t=30")
    assert request.timeout == 60


def test_rename_tag_and_image_removal_are_one_request_each(app, load_config, app_settings) -> None:
    assert sent(app.engine_rename_container("999", "999_replaced_ab")) == [
        ("POST", "/containers/app-web-999/rename?name=app-web-999_replaced_ab", None)]
    assert sent(app.engine_tag_latest_image()) == [("POST", "/images/dhh/app:999/tag?repo=dhh/app&tag=latest", None)]
    assert str(app.engine_tag_latest_image()).startswith("docker tag dhh/app:999 dhh/app:latest  [engine API: POST ")
    removal = engine_api.remove_image("registry:5000/app:v1", Command(("docker image rm --force registry:5000/app:v1",)))
    assert sent(removal) == [("DELETE", "/images/registry:5000/app:v1?force=1", None)]
    assert removal.refusal([answer({"message": "No such image: registry:5000/app:v1"}, 404)]) is None


def test_the_network_is_created_only_when_the_engine_has_none() -> None:
    request = engine_api.ensure_network("kamal", Command(("docker network inspect kamal || docker network create kamal",)))
    assert str(request) == ("docker network inspect kamal || docker network create kamal  [engine API: "
                            'GET /networks/kamal, then if none, POST /networks/create]')
    assert sent(request, [answer({"Name": "kamal"})]) == [("GET", "/networks/kamal", None)]
    assert sent(request, [answer({"message": "network kamal not found"}, 404)])[1] == (
        "POST", "/networks/create", b'{"Name": "kamal", "CheckDuplicate": true}')
    # Created meanwhile by another deploy: there is one, as asked.
    assert request.refusal([answer({}, 404), answer({"message": "network with name kamal already exists"}, 409)]) is None


def test_a_refusal_is_the_engines_message_as_docker_prints_it(app) -> None:
    request = app.engine_rename_container("999", "1000")
    refused = answer({"message": "Conflict. The container name \"/app-web-1000\" is already in use"}, 409)
    assert request.refusal([refused]) == ('Error response from daemon: Conflict. The container name "/app-web-1000" '
                                          "is already in use (HTTP 409)")
    assert request.refusal([HttpResponse(500, "Internal Server Error", body=b"not json")]) == (
        "Error response from daemon: not json (HTTP 500)")


def test_prune_removes_what_kamals_three_prune_lines_remove(load_config, app_settings) -> None:
    config = load_config(app_settings())
    prune = Prune(config)

    containers = prune.engine_app_containers(2)
    assert str(containers).startswith(str(prune.app_containers(2)) + "  [engine API: GET /containers/json?all=1&")
    assert json.loads(unquote(containers.paths[0]).split("filters=")[1]) == {
        "label": ["service=app"], "status": ["created", "exited", "dead"]}
    # Listed newest first: all but the newest two go.
    assert [path for _, path, _ in sent(containers, [listed("a", "b", "c", "d")])[1:]] == [
        f"/containers/{3:012x}{'0' * 52}", f"/containers/{4:012x}{'0' * 52}"]

    assert sent(prune.engine_dangling_images()) == [("POST", '/images/prune?filters={"label":["service=app"]}', None)]

    tagged = prune.engine_tagged_images()
    images = answer([{"Id": "sha256:1", "RepoTags": ["dhh/app:1", "dhh/app:latest"]},
                     {"Id": "sha256:2", "RepoTags": ["dhh/app:2"]},
                     {"Id": "sha256:3", "RepoTags": ["dhh/app:3", "dhh/app:3-copy"]},
                     {"Id": "sha256:4", "RepoTags": ["dhh/app:4"]},
                     {"Id": "sha256:5", "RepoTags": []}])
    # One container runs image 2 by its tag; another was created from a tag since moved on,
    # so it names image 3 by ID; image 4 is nobody's.
    in_use = answer([{"Image": "dhh/app:2"}, {"Image": "sha256:3"}])
    assert [path for _, path, _ in sent(tagged, [images, in_use])[2:]] == ["/images/dhh/app:1", "/images/dhh/app:4"]
    assert sent(tagged, [answer({"message": "boom"}, 500), in_use])[2:] == []
