"""Kamal's test/commands/prune_test.rb, server_test.rb and docker_test.rb."""

import pytest

from kamalnb.commands.docker import Docker
from kamalnb.commands.prune import Prune
from kamalnb.commands.server import Server


@pytest.fixture
def config(load_config, simple_settings):
    return load_config(simple_settings(), version="123")


def test_dangling_images(config):
    assert str(Prune(config).dangling_images()) == "docker image prune --force --filter label=service=app"


def test_tagged_images(config):
    assert str(Prune(config).tagged_images()) == (
        "docker image ls --filter label=service=app --format '{{.ID}} {{.Repository}}:{{.Tag}}' | "
        "grep -v -w \"$(docker container ls -a --format '{{.Image}}\\|' --filter label=service=app | tr -d '\\n')"
        "dhh/app:latest\\|dhh/app:<none>\" | while read image tag; do docker rmi $tag; done"
    )


def test_tagged_images_keep_the_destination_latest(load_config, simple_settings):
    assert "dhh/app:latest-staging\\|dhh/app:<none>" in str(Prune(load_config(simple_settings(), destination="staging")).tagged_images())


@pytest.mark.parametrize("retain, tail", [(5, 6), (3, 4), (10, 11)])
def test_app_containers(config, retain, tail):
    assert str(Prune(config).app_containers(retain=retain)) == (
        "docker ps -q -a --filter label=service=app --filter status=created --filter status=exited --filter status=dead | "
        f"tail -n +{tail} | while read container_id; do docker rm $container_id; done"
    )


def test_server(config, load_config, simple_settings):
    assert str(Server(config).ensure_run_directory()) == "mkdir -p .kamal"
    assert str(Server(config).remove_app_directory()) == "rm -r .kamal/apps/app"
    assert str(Server(load_config(simple_settings(), destination="staging")).remove_app_directory()) == "rm -r .kamal/apps/app-staging"
    assert str(Server(config).app_directory_count()) == "ls .kamal/apps | wc -l"


def test_docker_install():
    assert str(Docker().install()) == (
        "sh -c 'curl -fsSL https://get.docker.com || wget -O - https://get.docker.com || echo \"exit 1\"' | sh"
    )


@pytest.mark.parametrize(
    "method, expected",
    [
        ("installed", "docker -v"),
        ("running", "docker version"),
        ("superuser", '[ "${EUID:-$(id -u)}" -eq 0 ] || sudo -nl usermod >/dev/null'),
        ("root", '[ "${EUID:-$(id -u)}" -eq 0 ]'),
        ("in_docker_group", 'id -nG "${USER:-$(id -un)}" | grep -qw docker'),
        ("add_to_docker_group", 'sudo -n usermod -aG docker "${USER:-$(id -un)}"'),
        ("refresh_session", "kill -HUP $PPID"),
        ("create_network", "docker network create kamal"),
    ],
)
def test_docker_checks(method, expected):
    assert str(getattr(Docker(), method)()) == expected
