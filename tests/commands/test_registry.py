"""Kamal's test/commands/registry_test.rb, with the one deliberate difference: the password goes on stdin."""

import pytest

from kamalnb.commands.registry import Registry
from kamalnb.sensitive import Secret


@pytest.fixture
def settings(simple_settings):
    return simple_settings(
        registry={"username": "dhh", "password": "secret", "server": "hub.docker.com"},
        accessories={
            "db": {
                "image": "mysql:8.0",
                "hosts": ["1.1.1.1"],
                "registry": {"username": "user", "password": "pw", "server": "other.hub.docker.com"},
            }
        },
    )


def test_registry_login_takes_the_password_on_stdin(load_config, settings):
    login = Registry(load_config(settings)).login()
    assert str(login) == "docker login hub.docker.com -u [REDACTED] --password-stdin"
    assert login.render() == 'docker login hub.docker.com -u "dhh" --password-stdin'
    assert login.stdin == Secret("secret")
    assert str(login.stdin) == "[REDACTED]"


def test_given_registry_login(load_config, settings):
    config = load_config(settings)
    login = Registry(config).login(config.accessory("db").registry)
    assert login.render() == 'docker login other.hub.docker.com -u "user" --password-stdin'
    assert login.stdin.reveal() == "pw"


def test_registry_login_with_secret_password_and_username(load_config, settings):
    settings["registry"]["password"] = ["KAMAL_REGISTRY_PASSWORD"]
    settings["registry"]["username"] = ["KAMAL_REGISTRY_USERNAME"]
    settings["accessories"]["db"]["registry"]["password"] = ["KAMAL_MYSQL_REGISTRY_PASSWORD"]
    config = load_config(
        settings,
        secrets={"KAMAL_REGISTRY_PASSWORD": "more-secret", "KAMAL_REGISTRY_USERNAME": "also-secret", "KAMAL_MYSQL_REGISTRY_PASSWORD": "secret-pw"},
    )
    login = Registry(config).login()
    assert login.render() == 'docker login hub.docker.com -u "also-secret" --password-stdin'
    assert login.stdin.reveal() == "more-secret"
    assert Registry(config).login(config.accessory("db").registry).stdin.reveal() == "secret-pw"


def test_registry_login_escapes_the_username_and_never_quotes_the_password(load_config, settings):
    settings["registry"]["username"] = "d$h\"h"
    settings["registry"]["password"] = ["KAMAL_REGISTRY_PASSWORD"]
    login = Registry(load_config(settings, secrets={"KAMAL_REGISTRY_PASSWORD": "more-secret'\""})).login()
    assert login.render() == 'docker login hub.docker.com -u "d\\$h\\"h" --password-stdin'
    assert login.stdin.reveal() == "more-secret'\""


def test_docker_hub_login_has_no_server(load_config, simple_settings):
    assert Registry(load_config(simple_settings())).login().render() == 'docker login -u "dhh" --password-stdin'


def test_registry_logout(load_config, settings):
    config = load_config(settings)
    assert str(Registry(config).logout()) == "docker logout hub.docker.com"
    assert str(Registry(config).logout(config.accessory("db").registry)) == "docker logout other.hub.docker.com"


def test_local_registry_setup_remove_and_no_login(load_config, simple_settings):
    config = load_config(simple_settings(registry={"server": "localhost:5000"}))
    registry = Registry(config)
    assert registry.login() is None
    assert str(registry.setup()) == (
        "docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:5000:5000 --name kamal-docker-registry registry:3"
    )
    assert str(registry.remove()) == "docker stop kamal-docker-registry && docker rm kamal-docker-registry"
