"""Where a build runs without buildx, what is refused before anything is built, the context a
builder host receives, and a remote build's plan."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import yaml

import kamalnb
from kamalnb.commands.base import Command
from kamalnb.config import load
from kamalnb.errors import ConfigError
from kamalnb.executors.plan import PlanExecutor
from kamalnb.steps import build as build_steps
from kamalnb.steps.build import context_tar, route, with_client
from kamalnb.steps.context import StepContext

from .conftest import offline_project

BASE = {
    "service": "hey",
    "image": "acme/hey",
    "servers": ["192.0.2.10"],
    "registry": {"server": "registry.example.test", "username": "acme", "password": ["REGISTRY_PASSWORD"]},
}


def config(tmp_path: Path, **builder):
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump({**BASE, "builder": builder}))
    (tmp_path / ".kamal").mkdir(exist_ok=True)
    (tmp_path / ".kamal" / "secrets").write_text("REGISTRY_PASSWORD=pw\nTOKEN=t0k3n\n")
    return load("config/deploy.yml", root=tmp_path, environ={})


def test_without_buildx_the_local_arch_builds_here_and_local_false_on_the_remote(tmp_path: Path) -> None:
    assert route(config(tmp_path, arch="amd64"), buildx=False, local_arch="amd64").kind == "local"
    remote = route(config(tmp_path, arch="amd64", remote="ssh://deploy@build.example.test:2222", local=False),
                   buildx=False, local_arch="amd64")
    assert (remote.kind, remote.host, remote.user, remote.port, remote.arch) == (
        "remote", "build.example.test", "deploy", 2222, "amd64")
    other_arch = route(config(tmp_path, arch="arm64", remote="ssh://build.example.test"), buildx=False,
                       local_arch="amd64")
    assert (other_arch.kind, other_arch.host, other_arch.user) == ("remote", "build.example.test", None)
    assert route(config(tmp_path, arch=["amd64", "arm64"], remote="ssh://b"), buildx=True, local_arch="amd64").kind \
        == "buildx"


@pytest.mark.parametrize(("builder", "output", "message"), [
    ({"arch": ["amd64", "arm64"], "remote": "ssh://b"}, "registry",
     "builder/arch asks for amd64, arm64 in one image, which needs docker buildx"),
    ({"arch": "arm64"}, "registry", "builder/arch is arm64, but this machine's engine builds amd64 images"),
    ({"arch": "amd64", "cache": {"type": "registry"}}, "registry", "builder/cache needs docker buildx"),
    ({"arch": "amd64", "provenance": False}, "registry", "builder/provenance needs docker buildx"),
    ({"arch": "amd64", "driver": "cloud acme/builder"}, "registry", "(Docker Build Cloud) needs docker buildx"),
    ({"arch": "amd64", "remote": "tcp://b:2375", "local": False}, "registry", "kamalnb builds remotely over SSH only"),
    ({"arch": "amd64"}, "tar", "--output tar needs docker buildx"),
])
def test_what_no_engine_here_can_do_is_refused_naming_the_setting(tmp_path: Path, builder, output, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        route(config(tmp_path, **builder), buildx=False, local_arch="amd64", output=output)


def test_the_context_tar_leaves_out_what_dockerignore_excludes(tmp_path: Path) -> None:
    for path in ("Dockerfile", "app/web.sh", "app/tmp/cache.bin", "public/a.css", "public/keep.log", "notes.log",
                 "deep/x/y.log", ".git/HEAD"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(path)
    (tmp_path / ".dockerignore").write_text("# comment\n.git\napp/tmp\n**/*.log\n!public/keep.log\nDockerfile\n")
    with tarfile.open(fileobj=io.BytesIO(context_tar(tmp_path, ".", "Dockerfile"))) as tar:
        files = {member.name for member in tar.getmembers() if member.isfile()}
        owners = {(member.uid, member.gid) for member in tar.getmembers()}
    # The Dockerfile and .dockerignore always go, as docker sends them.
    assert files == {".dockerignore", "Dockerfile", "app/web.sh", "public/a.css", "public/keep.log"}
    assert owners == {(0, 0)}


def test_buildx_s_docker_driver_refuses_a_cache_and_several_arches(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="buildx's `docker` driver cannot export a build cache"):
        route(config(tmp_path, arch="amd64", driver="docker", cache={"type": "gha"}), buildx=True, local_arch="amd64")
    with pytest.raises(ConfigError, match="which buildx's `docker` driver cannot build"):
        route(config(tmp_path, arch=["amd64", "arm64"], driver="docker"), buildx=True, local_arch="amd64")


def test_a_dockerfile_outside_the_context_is_refused_for_a_remote_build(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "app").mkdir()
    with pytest.raises(ConfigError, match="builder/dockerfile Dockerfile is outside builder/context app"):
        context_tar(tmp_path, "app", "Dockerfile")


def test_the_build_client_replaces_only_the_docker_word() -> None:
    built = Command(("DOCKER_BUILDKIT=1", "docker", "build", "-t", "docker", "."))
    assert str(with_client(built, "/usr/bin/docker")) == "DOCKER_BUILDKIT=1 /usr/bin/docker build -t /usr/bin/docker ."
    assert with_client(built, "docker") is built


DEPLOY_YML = """
service: hey
image: acme/hey
servers: [192.0.2.10]
registry: {server: registry.example.test, username: acme, password: [REGISTRY_PASSWORD]}
builder:
  arch: amd64
  remote: ssh://builder@192.0.2.50
  local: false
  context: .
  secrets: [TOKEN]
x-kamalnb:
  build_docker: /usr/bin/docker
"""


def test_a_remote_build_plans_login_build_and_push_on_the_builder_host(tmp_path: Path, monkeypatch) -> None:
    project = offline_project(tmp_path, DEPLOY_YML, "REGISTRY_PASSWORD=pw\nTOKEN=t0k3n\n", monkeypatch)
    app = kamalnb.load(project / "config" / "deploy.yml", root=project)
    planner = PlanExecutor(facts={"buildx_installed": False})
    with StepContext(app.config, command="build", subcommand="push", executor=planner, local=planner,
                     plan=True) as context:
        assert build_steps.build(context).ok
    version = app.config.version
    commands = planner.commands("192.0.2.50")
    assert commands[0] == "docker login registry.example.test -u [REDACTED] --password-stdin"
    assert commands[1].startswith("mktemp -d -t kamalnb-build-secrets.")
    assert (f"DOCKER_BUILDKIT=1 /usr/bin/docker build -t registry.example.test/acme/hey:{version} "
            f"-t registry.example.test/acme/hey:latest --label service=\"hey\" "
            f"--secret id=TOKEN,src=/tmp/kamalnb-build-secrets/TOKEN --file Dockerfile - 2>&1") in commands
    assert commands[-1] == (f"/usr/bin/docker push registry.example.test/acme/hey:{version} && "
                            "/usr/bin/docker push registry.example.test/acme/hey:latest")
    assert planner.commands("local") == ["docker buildx version"]
    assert "t0k3n" not in " ".join(planner.commands())


def test_the_command_line_has_kamals_build_verbs_and_their_options() -> None:
    import argparse

    from kamalnb.cli.main import build_parser

    def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices

    build = subcommands(build_parser())["build"]
    verbs = subcommands(build)
    assert set(verbs) == {"push", "pull", "deliver", "create", "remove", "details", "dev"}
    options = {verb: {o for a in parser._actions for o in a.option_strings} for verb, parser in verbs.items()}
    assert {"--output", "--no-cache", "--no_cache"} <= options["push"] & options["dev"]
    assert verbs["push"].parse_args([]).output == "registry" and verbs["dev"].parse_args([]).output == "docker"
    assert "--no-cache" in options["deliver"] and "--output" not in options["deliver"]


def test_uncommitted_changes_are_named_as_kamal_names_them(tmp_path: Path, monkeypatch) -> None:
    from kamalnb.events import Events, OutputLine

    deploy_yml = DEPLOY_YML.replace("  context: .\n", "")
    project = offline_project(tmp_path, deploy_yml, "REGISTRY_PASSWORD=pw\nTOKEN=t0k3n\n", monkeypatch)
    (project / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")

    def warnings(path: Path, yml: str) -> list[str]:
        (project / "config" / "deploy.yml").write_text(yml)
        app = kamalnb.load(path, root=project)
        lines: list[str] = []
        events = Events(lambda e: lines.append(e.text) if isinstance(e, OutputLine) and e.stream == "stderr" else None)
        planner = PlanExecutor(facts={"buildx_installed": False}, events=events)
        with StepContext(app.config, command="build", executor=planner, local=planner, plan=True,
                         events=events) as context:
            build_steps.build(context)
        return lines

    path = project / "config" / "deploy.yml"
    assert warnings(path, deploy_yml)[:2] == [
        "Building from a local git clone, so ignoring these uncommitted changes:", " M Dockerfile"]
    assert warnings(path, DEPLOY_YML)[:2] == ["Building with uncommitted changes:", " M Dockerfile"]
