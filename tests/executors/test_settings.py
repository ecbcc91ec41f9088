import pytest

from kamalnb.errors import ConfigError
from kamalnb.executors import SshSettings
from kamalnb.executors.ssh import split_spec
from kamalnb.sensitive import Secret


def test_defaults_are_kamals():
    settings = SshSettings()
    assert (settings.user, settings.port, settings.log_level, settings.config) == ("root", 22, "fatal", True)
    assert settings.keepalive_interval == 30


def test_lists_become_tuples_and_a_single_value_is_a_list_of_one():
    settings = SshSettings(keys=["~/.ssh/a", "~/.ssh/b"], key_data=Secret("pem"), config=["/a", "/b"])
    assert settings.keys == ("~/.ssh/a", "~/.ssh/b")
    assert settings.key_data == (Secret("pem"),)
    assert settings.config == ("/a", "/b")


@pytest.mark.parametrize("bad, message", [
    ({"port": 0}, "ssh.port must be a port number"),
    ({"port": "22"}, "ssh.port must be a port number"),
    ({"log_level": "loud"}, "ssh.log_level must be one of debug, info, warn, error, fatal"),
    ({"proxy": "bastion", "proxy_command": "nc %h %p"}, "cannot both be set"),
    ({"keys": 5}, "ssh.keys must be a list"),
])
def test_bad_settings_name_the_key(bad, message):
    with pytest.raises(ConfigError, match=message):
        SshSettings(**bad)


@pytest.mark.parametrize("spec, expected", [
    ("bastion", (None, "bastion", None)),
    ("deploy@bastion", ("deploy", "bastion", None)),
    ("deploy@bastion:2222", ("deploy", "bastion", 2222)),
    ("10.0.0.1:22", (None, "10.0.0.1", 22)),
    ("root@[::1]:2200", ("root", "::1", 2200)),
])
def test_jump_host_specs(spec, expected):
    assert split_spec(spec) == expected


@pytest.mark.parametrize("spec", ["deploy@", "bastion:http", "bastion:70000"])
def test_bad_jump_host_specs(spec):
    with pytest.raises(ConfigError):
        split_spec(spec)


def load_config(tmp_path, monkeypatch, extra: str):
    from kamalnb.config import load

    monkeypatch.setenv("VERSION", "1")
    path = tmp_path / "deploy.yml"
    path.write_text(
        "service: app\nimage: app\nservers:\n  - 10.0.0.1\n"
        "registry:\n  server: localhost:5555\nbuilder:\n  arch: amd64\n" + extra
    )
    return load(path, root=tmp_path)


def test_settings_from_a_loaded_configuration(tmp_path, monkeypatch):
    from kamalnb.executors.settings import settings_from_config

    config = load_config(tmp_path, monkeypatch, (
        "ssh:\n  user: deploy\n  port: 2222\n  proxy: bastion\n  keys: [~/.ssh/deploy]\n  keys_only: true\n"
        "  config: false\n  log_level: debug\n"
        "sshkit:\n  dns_retries: 1\n"
        "x-kamalnb:\n  ssh:\n    connect_timeout: 5\n    trust_on_first_use: true\n"
    ))
    settings = settings_from_config(config)
    assert (settings.user, settings.port, settings.proxy, settings.keys, settings.keys_only) == (
        "deploy", 2222, "root@bastion", ("~/.ssh/deploy",), True)
    assert (settings.config, settings.log_level, settings.dns_retries) == (False, "debug", 1)
    assert (settings.connect_timeout, settings.trust_on_first_use) == (5, True)


def test_defaults_from_a_configuration_without_ssh(tmp_path, monkeypatch):
    from kamalnb.executors.settings import settings_from_config

    assert settings_from_config(load_config(tmp_path, monkeypatch, "")) == SshSettings()


@pytest.mark.parametrize("extra, message", [
    ("x-kamalnb:\n  ssh:\n    timeout: 5\n", "x-kamalnb/ssh: unknown key: timeout"),
    ("x-kamalnb:\n  ssh:\n    connect_timeout: soon\n", "connect_timeout must be a positive number"),
    ("x-kamalnb:\n  ssh: yes\n", "x-kamalnb/ssh: should be a hash"),
])
def test_bad_kamalnb_ssh_settings(tmp_path, monkeypatch, extra, message):
    from kamalnb.executors.settings import settings_from_config

    with pytest.raises(ConfigError, match=message):
        settings_from_config(load_config(tmp_path, monkeypatch, extra))
