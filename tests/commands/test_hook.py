"""Kamal's test/commands/hook_test.rb."""

from datetime import UTC, datetime

from kamalnb.commands.hook import Hook
from kamalnb.sensitive import Secret

RECORDED_AT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_run(load_config, simple_settings):
    assert Hook(load_config(simple_settings())).run("foo").words == (".kamal/hooks/foo",)


def test_run_with_custom_hooks_path(load_config, simple_settings):
    assert str(Hook(load_config(simple_settings(hooks_path="custom/hooks/path"))).run("foo")) == "custom/hooks/path/foo"


def test_env(load_config, simple_settings):
    hook = Hook(load_config(simple_settings(), version="123"))
    assert hook.env(recorded_at=RECORDED_AT, performer="jane@example.com") == {
        "KAMAL_RECORDED_AT": "2023-11-14T22:13:20Z",
        "KAMAL_PERFORMER": "jane@example.com",
        "KAMAL_VERSION": "123",
        "KAMAL_SERVICE_VERSION": "app@123",
        "KAMAL_SERVICE": "app",
    }


def test_env_with_details_and_secrets(load_config, simple_settings):
    hook = Hook(load_config(simple_settings(), destination="staging", version="0123456789abcdef"))
    env = hook.env(
        recorded_at=RECORDED_AT,
        performer="jane@example.com",
        secrets={"DB_PASSWORD": Secret("secret")},
        hosts=["1.1.1.1", "1.1.1.2"],
        lock=True,
        command="deploy",
    )
    assert env == {
        "KAMAL_RECORDED_AT": "2023-11-14T22:13:20Z",
        "KAMAL_PERFORMER": "jane@example.com",
        "KAMAL_DESTINATION": "staging",
        "KAMAL_VERSION": "0123456789abcdef",
        "KAMAL_SERVICE_VERSION": "app@0123456",
        "KAMAL_SERVICE": "app",
        "KAMAL_HOSTS": "1.1.1.1,1.1.1.2",
        "KAMAL_LOCK": "true",
        "KAMAL_COMMAND": "deploy",
        "DB_PASSWORD": Secret("secret"),
    }
