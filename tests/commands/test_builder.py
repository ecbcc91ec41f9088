"""Kamal's test/commands/builder_test.rb expectations (the local Docker engine taken as amd64)."""

import pytest

from kamalnb.commands.builder import Clone, builder_for

PREFIX = "docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container -t dhh/app:123 -t dhh/app:latest"


@pytest.fixture
def builder(load_config, simple_settings):
    def _builder(local_arch="amd64", secrets=None, **overrides):
        builder = {"arch": "amd64", **overrides.pop("builder", {})}
        config = load_config(simple_settings(builder=builder, **overrides), version="123", secrets=secrets)
        return builder_for(config, local_arch=local_arch)

    return _builder


def test_target_linux_amd64_locally_with_cache(builder):
    local = builder(builder={"cache": {"type": "gha"}})
    assert local.kind == "local"
    assert str(local.push()) == f'{PREFIX} --cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile . 2>&1'


def test_target_specified_arch_locally_by_default(builder):
    local = builder(builder={"arch": ["amd64"]})
    assert local.kind == "local"
    assert str(local.push()) == f'{PREFIX} --label service="app" --file Dockerfile . 2>&1'


def test_hybrid_build_if_remote_is_set_and_building_multiarch(builder):
    hybrid = builder(builder={"arch": ["amd64", "arm64"], "remote": "ssh://app@127.0.0.1", "cache": {"type": "gha"}})
    assert hybrid.kind == "hybrid"
    assert str(hybrid.push()) == (
        "docker buildx build --output=type=registry --platform linux/amd64,linux/arm64 "
        "--builder kamal-hybrid-docker-container-ssh---app-127-0-0-1 -t dhh/app:123 -t dhh/app:latest "
        '--cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile . 2>&1'
    )


def test_remote_build_if_remote_is_set_and_local_disabled(builder):
    remote = builder(
        builder={"arch": ["amd64", "arm64"], "remote": "ssh://app@127.0.0.1", "cache": {"type": "gha"}, "local": False}
    )
    assert remote.kind == "remote"
    assert str(remote.push()) == (
        "docker buildx build --output=type=registry --platform linux/amd64,linux/arm64 "
        "--builder kamal-remote-ssh---app-127-0-0-1 -t dhh/app:123 -t dhh/app:latest "
        '--cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile . 2>&1'
    )


def test_target_remote_when_remote_set_and_arch_is_non_local(builder):
    remote = builder(builder={"arch": ["arm64"], "remote": "ssh://app@host", "cache": {"type": "gha"}})
    assert remote.kind == "remote"
    assert str(remote.push()) == (
        "docker buildx build --output=type=registry --platform linux/arm64 --builder kamal-remote-ssh---app-host "
        '-t dhh/app:123 -t dhh/app:latest --cache-to type=gha --cache-from type=gha --label service="app" '
        "--file Dockerfile . 2>&1"
    )
    assert remote.push_env() == {"BUILDKIT_NO_CLIENT_TOKEN": "1"}
    assert not remote.login_to_registry_locally()


def test_target_local_when_remote_set_and_arch_is_local(builder):
    local = builder(builder={"arch": ["amd64"], "remote": "ssh://app@host", "cache": {"type": "gha"}})
    assert local.kind == "local"
    assert str(local.push()) == f'{PREFIX} --cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile . 2>&1'


def test_the_local_engine_arch_decides_the_builder(builder):
    assert builder(local_arch="arm64", builder={"arch": ["arm64"], "remote": "ssh://app@host"}).kind == "local"
    assert builder(local_arch="amd64", builder={"arch": ["arm64"], "remote": "ssh://app@host"}).kind == "remote"


def test_target_pack_when_pack_is_set(builder):
    pack = builder(builder={"pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby", "heroku/procfile"]}})
    assert pack.kind == "pack"
    assert str(pack.push()) == (
        "pack build dhh/app --platform linux/amd64 --creation-time now --builder heroku/builder:24 "
        "--buildpack heroku/ruby --buildpack heroku/procfile --buildpack paketo-buildpacks/image-labels "
        "-t dhh/app:123 -t dhh/app:latest --env BP_IMAGE_LABELS=service=app --path . "
        "&& docker push dhh/app:123 && docker push dhh/app:latest"
    )


def test_pack_build_args_passed_as_env_and_no_cache(builder):
    pack = builder(
        builder={"args": {"a": 1, "b": 2}, "pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby", "heroku/procfile"]}}
    )
    assert str(pack.push("registry", no_cache=True)) == (
        "pack build dhh/app --platform linux/amd64 --creation-time now --builder heroku/builder:24 "
        "--buildpack heroku/ruby --buildpack heroku/procfile --buildpack paketo-buildpacks/image-labels "
        '-t dhh/app:123 -t dhh/app:latest --clear-cache --env BP_IMAGE_LABELS=service=app --env a="1" --env b="2" '
        "--path . && docker push dhh/app:123 && docker push dhh/app:latest"
    )


def test_pack_build_secrets_as_env(builder):
    pack = builder(
        secrets={"token_a": "foo", "token_b": "bar"},
        builder={"secrets": ["token_a", "token_b"], "pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby", "heroku/procfile"]}},
    )
    cmd = pack.push()
    expected = (
        "pack build dhh/app --platform linux/amd64 --creation-time now --builder heroku/builder:24 "
        "--buildpack heroku/ruby --buildpack heroku/procfile --buildpack paketo-buildpacks/image-labels "
        "-t dhh/app:123 -t dhh/app:latest --env BP_IMAGE_LABELS=service=app --env {a} --env {b} "
        "--path . && docker push dhh/app:123 && docker push dhh/app:latest"
    )
    assert cmd.render() == expected.format(a='token_a="foo"', b='token_b="bar"')
    assert str(cmd) == expected.format(a="token_a=[REDACTED]", b="token_b=[REDACTED]")


def test_cloud_builder(builder):
    cloud = builder(builder={"driver": "cloud docker-org-name/builder-name"})
    assert cloud.kind == "cloud"
    assert str(cloud.push()) == (
        "docker buildx build --output=type=registry --platform linux/amd64 --builder cloud-docker-org-name-builder-name "
        '-t dhh/app:123 -t dhh/app:latest --label service="app" --file Dockerfile . 2>&1'
    )
    assert str(cloud.create()) == "docker buildx create --driver cloud docker-org-name/builder-name"


def test_build_args_are_redacted_in_the_display(builder):
    local = builder(builder={"args": {"a": 1, "b": 2}})
    options = local.push()
    assert options.render() == f'{PREFIX} --label service="app" --build-arg a="1" --build-arg b="2" --file Dockerfile . 2>&1'
    assert str(options) == f'{PREFIX} --label service="app" --build-arg a=[REDACTED] --build-arg b=[REDACTED] --file Dockerfile . 2>&1'


def test_build_secrets(builder):
    local = builder(secrets={"token_a": "foo", "token_b": "bar"}, builder={"secrets": ["token_a", "token_b"]})
    assert str(local.push()) == (
        f'{PREFIX} --label service="app" --secret id="token_a" --secret id="token_b" --file Dockerfile . 2>&1'
    )


@pytest.mark.parametrize(
    "settings, options",
    [
        ({"dockerfile": "Dockerfile.xyz"}, '--label service="app" --file Dockerfile.xyz'),
        ({"target": "prod"}, '--label service="app" --file Dockerfile --target prod'),
        ({"ssh": "default=$SSH_AUTH_SOCK"}, '--label service="app" --file Dockerfile --ssh default=$SSH_AUTH_SOCK'),
    ],
)
def test_build_options(builder, settings, options):
    from kamalnb.commands.base import command

    assert str(command(builder(builder=settings).build_options())) == options


@pytest.mark.parametrize(
    "settings, tail",
    [
        ({"context": ".."}, '--label service="app" --file Dockerfile .. 2>&1'),
        ({"context": "./foo"}, '--label service="app" --file Dockerfile ./foo 2>&1'),
        ({"provenance": "mode=max"}, '--label service="app" --file Dockerfile --provenance mode=max . 2>&1'),
        ({"provenance": False}, '--label service="app" --file Dockerfile --provenance false . 2>&1'),
        ({"sbom": True}, '--label service="app" --file Dockerfile --sbom true . 2>&1'),
        ({"sbom": False}, '--label service="app" --file Dockerfile --sbom false . 2>&1'),
    ],
)
def test_push_variants(builder, settings, tail):
    assert str(builder(builder=settings).push()) == f"{PREFIX} {tail}"


def test_push_with_no_cache(builder):
    assert str(builder().push("registry", no_cache=True)) == f'{PREFIX} --label service="app" --file Dockerfile --no-cache . 2>&1'


def test_push_dirty_tags_and_export_action(builder):
    assert str(builder().push("docker", tag_as_dirty=True)) == (
        "docker buildx build --output=type=docker --platform linux/amd64 --builder kamal-local-docker-container "
        '-t dhh/app:123-dirty -t dhh/app:latest-dirty --label service="app" --file Dockerfile . 2>&1'
    )


def test_docker_driver_has_no_builder(builder):
    plain = builder(builder={"driver": "docker"})
    assert str(plain.push()) == (
        'docker buildx build --output=type=registry --platform linux/amd64 -t dhh/app:123 -t dhh/app:latest --label service="app" '
        "--file Dockerfile . 2>&1"
    )
    assert plain.create() is None and plain.remove() is None and plain.inspect_builder() is None


def test_registry_cache(builder, load_config, simple_settings):
    cached = builder(registry={"server": "ghcr.io", "username": "dhh", "password": "secret"}, builder={"cache": {"type": "registry", "options": "mode=max"}})
    assert str(cached.push()) == (
        "docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container "
        "-t ghcr.io/dhh/app:123 -t ghcr.io/dhh/app:latest --cache-to type=registry,ref=ghcr.io/dhh/app-build-cache,mode=max "
        '--cache-from type=registry,ref=ghcr.io/dhh/app-build-cache --label service="app" --file Dockerfile . 2>&1'
    )


def test_validate_image(builder):
    assert str(builder().validate_image()) == (
        "docker inspect -f '{{ .Config.Labels.service }}' dhh/app:123 | grep -x app "
        "|| (echo \"Image dhh/app:123 is missing the 'service' label\" && exit 1)"
    )


def test_first_mirror_pull_clean_info(builder):
    local = builder()
    assert str(local.first_mirror()) == "docker info --format '{{index .RegistryConfig.Mirrors 0}}'"
    assert str(local.pull()) == "docker pull dhh/app:123"
    assert str(local.clean()) == "docker image rm --force dhh/app:123"
    assert str(local.info()) == "docker context ls && docker buildx ls"
    assert str(local.inspect_builder()) == "docker buildx inspect kamal-local-docker-container"


def test_local_builder_create_and_remove(builder):
    local = builder()
    assert str(local.create()) == "docker buildx create --name kamal-local-docker-container --driver=docker-container"
    assert str(local.remove()) == "docker buildx rm kamal-local-docker-container"


def test_local_builder_with_local_registry_includes_network_host_driver_option(builder):
    local = builder(registry={"server": "localhost:5000"})
    assert local.kind == "local"
    assert str(local.create()) == (
        "docker buildx create --name kamal-local-registry-docker-container --driver=docker-container --driver-opt network=host"
    )


def test_remote_builder_with_local_registry(builder):
    remote = builder(registry={"server": "localhost:5000"}, builder={"arch": "arm64", "remote": "ssh://app@1.1.1.5"})
    assert remote.kind == "remote"
    assert str(remote.create()) == (
        "docker context create kamal-remote-ssh---app-1-1-1-5-local-registry-context "
        "--description 'kamal-remote-ssh---app-1-1-1-5-local-registry host' --docker 'host=ssh://app@1.1.1.5' ; "
        "docker buildx create --name kamal-remote-ssh---app-1-1-1-5-local-registry --driver-opt network=host "
        "kamal-remote-ssh---app-1-1-1-5-local-registry-context"
    )


def test_remote_builder_inspect_and_remove(builder):
    remote = builder(builder={"arch": "arm64", "remote": "ssh://app@1.1.1.5"})
    assert str(remote.inspect_builder()) == (
        "docker buildx inspect kamal-remote-ssh---app-1-1-1-5 | grep -q Endpoint:.*kamal-remote-ssh---app-1-1-1-5-context "
        "&& docker context inspect kamal-remote-ssh---app-1-1-1-5-context --format '{{.Endpoints.docker.Host}}' "
        "| grep -xq ssh://app@1.1.1.5 || (echo no compatible builder && exit 1)"
    )
    assert str(remote.remove()) == (
        "docker context rm kamal-remote-ssh---app-1-1-1-5-context ; docker buildx rm kamal-remote-ssh---app-1-1-1-5"
    )


def test_hybrid_builder_with_local_registry(builder):
    hybrid = builder(registry={"server": "localhost:5000"}, builder={"arch": ["amd64", "arm64"], "remote": "ssh://app@1.1.1.5"})
    assert hybrid.kind == "hybrid"
    assert str(hybrid.create()) == (
        "docker buildx create --platform linux/amd64 --name kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry "
        "--driver=docker-container --driver-opt network=host && docker context create "
        "kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry-context --description "
        "'kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry host' --docker 'host=ssh://app@1.1.1.5' && "
        "docker buildx create --platform linux/arm64 --append --name kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry "
        "--driver-opt network=host kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry-context"
    )


def test_clone_escapes_paths_with_spaces(load_config, simple_settings):
    config = load_config(simple_settings(), version="123")
    clone = Clone(config, git_root="/absolute/path with spaces")
    assert "path\\ with\\ spaces" in str(clone.clone())
    assert "path with spaces" not in str(clone.clone())
    steps = [str(step) for step in clone.clone_reset_steps("abc123")]
    assert steps[0] == "git -C . remote set-url origin /absolute/path\\ with\\ spaces"
    assert steps[2].endswith(" reset --hard abc123")
    assert steps[-1].endswith(" gc --auto --quiet")
    assert str(clone.clone_status()).endswith(" status --porcelain")
    assert str(clone.clone_revision()).endswith(" rev-parse HEAD")


def test_ensure_docker_installed(builder):
    assert str(builder().ensure_docker_installed()) == "docker --version && docker buildx version"


def test_plain_build_and_push_without_buildx(builder):
    local = builder(builder={"args": {"a": 1}, "target": "prod"})
    assert local.plain_build().render() == (
        'docker build -t dhh/app:123 -t dhh/app:latest --label service="app" --build-arg a="1" --file Dockerfile '
        "--target prod . 2>&1"
    )
    assert str(local.plain_build(no_cache=True)) == (
        'docker build -t dhh/app:123 -t dhh/app:latest --label service="app" --build-arg a=[REDACTED] --file Dockerfile '
        "--target prod --no-cache . 2>&1"
    )
    assert str(local.push_tags()) == "docker push dhh/app:123 && docker push dhh/app:latest"
    assert str(local.push_tags(tag_as_dirty=True)) == "docker push dhh/app:123-dirty && docker push dhh/app:latest-dirty"
