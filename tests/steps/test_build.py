"""Builds on real engines: `builder.remote` builds on that sandbox host's engine and pushes
from there, `local: false` leaves the laptop engine untouched, and a build secret reaches the
build but no image history, log or report."""

from __future__ import annotations

import pytest

from kamalnb.errors import KamalnbError
from kamalnb.events import Events, OutputLine
from kamalnb.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

SECRET = "tok-3f9a-never-in-history"


def laptop_counts(sandbox: Sandbox) -> tuple[int, str]:
    """The laptop engine's images (all, intermediate ones too) and its build cache line."""
    images = sandbox.laptop_docker("image", "ls", "-aq").stdout.split()
    cache = sandbox.laptop_docker("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Size}}").stdout
    return len(images), next(line for line in cache.splitlines() if line.startswith("Build Cache"))


def host_has(sandbox: Sandbox, host: str, image: str) -> bool:
    return sandbox.host_docker(host, "image", "inspect", image, check=False).returncode == 0


def remote_builder(sample, host: str, **builder) -> str:
    def change(data: dict) -> None:
        data["builder"] = {"arch": "amd64", "args": data["builder"]["args"], "remote": f"ssh://root@{host}",
                           "local": False, **builder}

    return sample.edit_config(change)


def test_a_remote_builder_builds_on_its_host_pushes_and_the_deploy_serves_it(sample) -> None:
    sandbox = sample.sandbox
    builder, other = sandbox.hosts[2].address, sandbox.hosts[1].address
    version = remote_builder(sample, builder)
    app = sample.load()
    image = f"{app.config.repository}:{version}"
    before = laptop_counts(sandbox)
    lines: list[OutputLine] = []
    events = Events(lambda event: lines.append(event) if isinstance(event, OutputLine) else None)

    report = app.deploy(ui="silent", events=events)

    assert report.ok
    # Built by the builder host's engine, from its own build: the laptop engine saw nothing.
    assert host_has(sandbox, builder, image)
    assert laptop_counts(sandbox) == before
    assert sandbox.laptop_docker("image", "inspect", image, check=False).returncode != 0
    # Pushed from there: another host pulled it from the registry, and every host serves it.
    assert host_has(sandbox, other, image)
    assert set(sample.serving().values()) == {version}
    # The build's output streamed on the local row.
    assert any(line.host == "local" and "Successfully built" in line.text for line in lines)
    # The answers of probes (no buildx here, no image to remove before a pull) are no errors.
    probes = [line for line in lines if line.command.startswith(("docker buildx version", "docker image rm"))]
    assert any("buildx" in line.text for line in probes)
    assert not any(line.checked for line in probes if line.stream == "stderr")


def test_a_build_secret_reaches_the_build_but_no_history_log_or_report(sample) -> None:
    sandbox = sample.sandbox
    builder = sandbox.hosts[2].address
    secrets = sample.path / ".kamal" / "secrets"
    secrets.write_text(secrets.read_text() + f"BUILD_TOKEN={SECRET}\n")
    dockerfile = sample.path / "Dockerfile"
    original = dockerfile.read_text()
    dockerfile.write_text(original + "RUN --mount=type=secret,id=BUILD_TOKEN wc -c < /run/secrets/BUILD_TOKEN "
                                     "> /www/token-size\n")
    try:
        check_secret_build(sample, builder)
    finally:
        dockerfile.write_text(original)
        sample.commit("no secret mount")


def check_secret_build(sample, builder: str) -> None:
    sandbox = sample.sandbox

    def change(data: dict) -> None:
        data["builder"].update({"remote": f"ssh://root@{builder}", "local": False, "secrets": ["BUILD_TOKEN"]})
        # The sandbox hosts' `docker` (28, no buildx plugin) cannot use BuildKit; Debian's 20.10 client can.
        data["x-kamalnb"]["build_docker"] = "/usr/bin/docker"

    version = sample.edit_config(change)
    # BuildKit in Docker 20.10 ignores the engine's insecure-registry setting: it finds the
    # base image in the engine's own store instead of asking the plain-HTTP registry.
    sandbox.host_docker(builder, "pull", sandbox.base_image)
    app = sample.load()
    image = f"{app.config.repository}:{version}"
    lines: list[str] = []
    events = Events(lambda event: lines.append(event.text) if isinstance(event, OutputLine) else None)

    report = app.build.push(ui="silent", events=events)

    assert report.ok
    size = sandbox.host_docker(builder, "run", "--rm", "--entrypoint", "cat", image, "/www/token-size").stdout
    assert size.strip() == str(len(SECRET))
    history = sandbox.host_docker(builder, "history", "--no-trunc", image).stdout
    inspect = sandbox.host_docker(builder, "image", "inspect", image).stdout
    assert SECRET not in history and SECRET not in inspect
    assert lines and not any(SECRET in line for line in lines)
    saved = [str(report), report.table(), report._repr_html_(), report.to_frame().to_string()]
    saved += [result.stdout + result.stderr + result.command for outcome in report for result in outcome.commands]
    assert not any(SECRET in text for text in saved)
    # The secret's file on the builder host is gone with the build.
    leftovers = sandbox.host_docker(builder, "run", "--rm", "-v", "/tmp:/host-tmp", sandbox.base_image,
                                    "sh", "-c", "ls /host-tmp | grep -c kamalnb-build-secrets || true").stdout
    assert leftovers.strip() == "0"


def test_secrets_without_buildkit_are_refused_before_anything_is_built(sample) -> None:
    sandbox = sample.sandbox
    builder = sandbox.hosts[2].address
    secrets = sample.path / ".kamal" / "secrets"
    secrets.write_text(secrets.read_text() + f"BUILD_TOKEN={SECRET}\n")

    def change(data: dict) -> None:
        data["builder"].update({"remote": f"ssh://root@{builder}", "local": False, "secrets": ["BUILD_TOKEN"]})
        data["x-kamalnb"].pop("build_docker", None)

    version = sample.edit_config(change)
    app = sample.load()
    with pytest.raises(KamalnbError, match=r"builder/secrets need BuildKit.*install the buildx plugin"):
        app.build.push(ui="silent")
    assert not host_has(sandbox, builder, f"{app.config.repository}:{version}")


def test_an_arch_the_builder_host_cannot_build_is_refused_before_anything_is_built(sample) -> None:
    sandbox = sample.sandbox
    builder = sandbox.hosts[2].address
    version = remote_builder(sample, builder, arch="arm64")
    app = sample.load()
    before = laptop_counts(sandbox)
    with pytest.raises(KamalnbError, match=rf"builder/arch is arm64, but the engine of {builder} builds amd64"):
        app.build.push(ui="silent")
    assert not host_has(sandbox, builder, f"{app.config.repository}:{version}")
    assert laptop_counts(sandbox) == before


def test_build_dev_builds_the_working_tree_tagged_dirty_in_the_builder_engine(sample) -> None:
    sandbox = sample.sandbox
    builder = sandbox.hosts[2].address
    version = remote_builder(sample, builder)
    page = sample.path / "public" / "dev-only.txt"
    page.write_text("uncommitted\n")
    app = sample.load()
    lines: list[str] = []
    events = Events(lambda event: lines.append(event.text) if isinstance(event, OutputLine) else None)
    try:
        assert app.build.dev(ui="silent", events=events).ok
    finally:
        page.unlink()
    image = f"{app.config.repository}:{version}-dirty"
    assert sandbox.host_docker(builder, "run", "--rm", "--entrypoint", "cat", image,
                               "/www/dev-only.txt").stdout == "uncommitted\n"
    assert "WARNING: Untracked files will be present in the dev container:" in lines
    assert "  public/dev-only.txt" in lines
