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
