"""Derived names and settings, checked against the values in Kamal's own tests and reference."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kamalnb.config import Configuration, load
from kamalnb.config.ssh import SshJump, SshProxyCommand
from kamalnb.errors import ConfigError
from tests.config.conftest import write_project

DEPLOY = """\
service: app
image: dhh/app
registry:
  server: ghcr.io
  username: user
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
servers:
  web:
    - 1.1.1.1
    - 1.1.1.2
  workers:
    hosts: [1.1.1.3]
    cmd: bin/jobs
    options:
      restart: on-failure:3
      memory: 2g
      cap-add: [NET_ADMIN, SYS_TIME]
      init: true
    labels:
      tier: background
    logging:
      options:
        max-file: 5
    stop_timeout: 45
labels:
  team: platform
logging:
  driver: json-file
  options:
    max-size: 100m
proxy:
  host: app.example.com
  app_port: 3000
  healthcheck:
    path: /health
    interval: 2
asset_path: /rails/public/assets
accessories:
  db:
    image: mysql:8.0
    host: 1.1.1.5
    port: 3306
    files:
      - config/my.cnf:/etc/mysql/my.cnf
    directories:
      - data:/var/lib/mysql
      - /abs/logs:/var/log/mysql:ro
x-kamalnb:
  proxy: caddy
"""


@pytest.fixture
def config(tmp_path: Path) -> Configuration:
    write_project(tmp_path, {"config/deploy.yml": DEPLOY, "config/deploy.staging.yml": "deploy_timeout: 60\n"})
    return load(root=tmp_path, destination="staging", version="999", environ={})


def test_image_names(config: Configuration) -> None:
    assert config.service == "app"
    assert config.destination == "staging"
    assert config.service_and_destination == "app-staging"
    assert config.repository == "ghcr.io/dhh/app"
    assert config.absolute_image == "ghcr.io/dhh/app:999"
    assert config.latest_tag == "latest-staging"
    assert config.latest_image == "ghcr.io/dhh/app:latest-staging"
    assert config.service_with_version == "app-999"
    assert config.version == "999"


def test_roles_hosts_and_container_names(config: Configuration) -> None:
    assert [role.name for role in config.roles] == ["web", "workers"]
    assert config.all_hosts == ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.5"]
    assert config.app_hosts == ["1.1.1.1", "1.1.1.2", "1.1.1.3"]
    assert config.primary_host == "1.1.1.1"
    assert config.primary_role.name == "web"
    web = config.role("web")
    assert web.container_prefix == "app-web-staging"
    assert web.container_name() == "app-web-staging-999"
    assert web.container_name("v2") == "app-web-staging-v2"
    assert web.labels == {"service": "app", "role": "web", "destination": "staging", "team": "platform"}
    workers = config.role("workers")
    assert workers.labels["tier"] == "background"
    assert workers.cmd == "bin/jobs"


def test_env_file_paths_and_directories(config: Configuration) -> None:
    assert config.run_directory == ".kamal"
    assert config.apps_directory == ".kamal/apps"
    assert config.app_directory == ".kamal/apps/app-staging"
    assert config.role("web").secrets_path == ".kamal/apps/app-staging/env/roles/web.env"
    assert config.accessory("db").secrets_path == ".kamal/apps/app-staging/env/accessories/db.env"
    assert config.hooks_path == ".kamal/hooks"
    assert config.secrets_path == ".kamal/secrets"
    assert config.proxy_boot.tls_directory == ".kamal/proxy/apps-config/app-staging/tls"


def test_timeouts_and_defaults(config: Configuration) -> None:
    assert config.deploy_timeout == 60
    assert config.drain_timeout == 30
    assert config.readiness_delay == 7
    assert config.retain_containers == 5
    assert config.stop_timeout is None
    assert config.minimum_version is None
    assert config.kamalnb == {"proxy": "caddy"}


def test_docker_arguments(config: Configuration) -> None:
    web, workers = config.role("web"), config.role("workers")
    assert web.label_args == ["--label", 'service="app"', "--label", 'role="web"', "--label", 'destination="staging"',
                              "--label", 'team="platform"']
    assert web.restart_policy == "unless-stopped"
    assert workers.restart_policy == "on-failure:3"
    assert workers.option_args == ["--memory", '"2g"', "--cap-add", '"NET_ADMIN"', "--cap-add", '"SYS_TIME"', "--init"]
    assert web.logging_args == ["--log-driver", '"json-file"', "--log-opt", 'max-size="100m"']
    assert workers.logging_args == ["--log-driver", '"json-file"', "--log-opt", 'max-size="100m"',
                                    "--log-opt", 'max-file="5"']
    assert web.stop_args == []
    assert workers.stop_args == ["-t", "45"]
    assert web.env_args("1.1.1.1") == ["--env-file", ".kamal/apps/app-staging/env/roles/web.env"]


def test_destination_label_is_bare_without_destination(tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": DEPLOY})
    config = load(root=tmp_path, version="999", environ={})
    assert config.role("web").label_args[:6] == ["--label", 'service="app"', "--label", 'role="web"', "--label",
                                                 "destination"]
    assert config.role("web").container_name() == "app-web-999"
    assert config.latest_tag == "latest"


def test_proxy_settings(config: Configuration) -> None:
    web, workers = config.role("web"), config.role("workers")
    assert web.running_proxy and not workers.running_proxy
    assert workers.proxy is None
    assert config.proxy_roles == [web]
    assert config.proxy_hosts == ["1.1.1.1", "1.1.1.2"]
    assert web.proxy.hosts == ["app.example.com"]
    assert web.proxy.app_port == 3000
    assert web.proxy.healthcheck_path == "/health"
    assert web.proxy.healthcheck_timeout == 5
    assert web.proxy.deploy_command_args("abc123") == [
        '--target="abc123:3000"', '--host="app.example.com"', '--deploy-timeout="60s"', '--drain-timeout="30s"',
        '--health-check-interval="2s"', '--health-check-path="/health"', "--buffer-requests", "--buffer-responses",
        '--log-request-header="Cache-Control"', '--log-request-header="Last-Modified"',
        '--log-request-header="User-Agent"',
    ]


def test_assets(config: Configuration) -> None:
    web = config.role("web")
    assert web.assets and not config.role("workers").assets
    assert web.asset_volume().docker_args == [
        "--volume", "$PWD/.kamal/apps/app-staging/assets/volumes/web-999:/rails/public/assets"]
    assert web.asset_extracted_directory() == ".kamal/apps/app-staging/assets/extracted/web-999"


def test_accessory(config: Configuration, tmp_path: Path) -> None:
    db = config.accessory("db")
    assert db.service_name == "app-db"
    assert db.image == "mysql:8.0"
    assert db.hosts == ["1.1.1.5"]
    assert db.port == "3306:3306"
    assert db.labels == {"service": "app-db"}
    assert db.network == "kamal"
    assert db.restart_policy == "unless-stopped"
    assert db.volume_args == [
        "--volume", "$PWD/app-db/etc/mysql/my.cnf:/etc/mysql/my.cnf",
        "--volume", "$PWD/app-db/data:/var/lib/mysql",
        "--volume", "/abs/logs:/var/log/mysql:ro",
    ]
    file = db.files[str(tmp_path / "config" / "my.cnf")]
    assert (file.host_path, file.mode) == ("app-db/etc/mysql/my.cnf", "755")
    assert list(db.directories) == ["$PWD/app-db/data", "/abs/logs"]


def test_ssh_and_builder(tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": DEPLOY + "ssh:\n  user: deploy\n  port: '2222'\n  proxy: bastion\n"})
    config = load(root=tmp_path, version="1", environ={})
    assert (config.ssh.user, config.ssh.port, config.ssh.log_level) == ("deploy", 2222, "fatal")
    assert config.ssh.proxy == SshJump("root@bastion")
    assert config.builder.arches == ["amd64"]
    assert config.builder.driver == "docker-container"
    assert config.builder.dockerfile == "Dockerfile"
    write_project(tmp_path, {"config/deploy.yml": DEPLOY + "ssh:\n  proxy_command: ssh -W %h:%p j\n"})
    assert load(root=tmp_path, version="1", environ={}).ssh.proxy == SshProxyCommand("ssh -W %h:%p j")


def test_boot_limit_percentage_counts_accessory_hosts(tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": DEPLOY + "boot:\n  limit: 50%\n  wait: 2\n"})
    config = load(root=tmp_path, version="1", environ={})
    assert config.boot.limit == 2
    assert config.boot.wait == 2


def test_configuration_is_read_only(config: Configuration) -> None:
    with pytest.raises(AttributeError, match="read-only"):
        config.destination = "production"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        config.role("web").name = "api"  # type: ignore[misc]


def test_version_from_environment_and_abbreviation(tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": DEPLOY})
    assert load(root=tmp_path, environ={"VERSION": "0123456789abcdef"}).abbreviated_version == "0123456"
    assert load(root=tmp_path, version="abc_uncommitted_1", environ={}).abbreviated_version == "abc_uncommitted_1"
    assert load(root=tmp_path, version="v9", environ={"VERSION": "other"}).version == "v9"


def test_kamal1_env_file_warns(tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": DEPLOY, ".env": "A=1\n"})
    config = load(root=tmp_path, version="1", environ={})
    assert len(config.warnings) == 1
    assert config.warnings[0].startswith("Found .env: Kamal 2 no longer reads it")
    write_project(tmp_path, {"config/.env.staging": "A=1\n", "config/deploy.staging.yml": "servers: [1.1.1.1]\n"})
    config = load(root=tmp_path, version="1", destination="staging", environ={})
    assert [warning.split(":")[0] for warning in config.warnings] == ["Found .env", "Found config/.env.staging"]


def test_accessory_file_contents(tmp_path: Path) -> None:
    write_project(tmp_path, {
        "config/deploy.yml": DEPLOY.replace("      - config/my.cnf:/etc/mysql/my.cnf\n",
                                            "      - config/my.cnf:/etc/mysql/my.cnf\n"
                                            "      - config/init.sql.erb:/docker-entrypoint-initdb.d/init.sql\n")
        .replace("    port: 3306\n", "    port: 3306\n    env:\n      clear: {DB_USER: app}\n      secret: [DB_PASSWORD]\n"),
        "config/my.cnf": "[mysqld]\n",
        "config/init.sql.erb": "CREATE USER '<%= ENV[\"DB_USER\"] %>' IDENTIFIED BY '<%= ENV.fetch(\"DB_PASSWORD\") %>';\n",
        ".kamal/secrets": "DB_PASSWORD='pw \"#$'\n",
    })
    db = load(root=tmp_path, version="1", environ={}).accessory("db")
    plain, template = db.files.values()
    assert db.file_content(plain) == b"[mysqld]\n"
    rendered = db.file_content(template)
    assert str(rendered) == "[REDACTED]"
    assert rendered.reveal() == "CREATE USER 'app' IDENTIFIED BY 'pw \"#$';\n"
    assert template.host_path == "app-db/docker-entrypoint-initdb.d/init.sql"


@pytest.mark.parametrize(("change", "message"), [
    ({"proxy": {"app_port": -1}}, "servers/web/proxy/app_port: -1 is not a port (a number from 1 to 65535)"),
    ({"proxy": {"app_port": 10**30}}, "servers/web/proxy/app_port: 10000000000000000000 is not a port"),
    ({"servers": {"web": ["1.1.1.1", "bad host"]}}, "servers/web/hosts: 'bad host' is not a host name or an address"),
    ({"servers": {"web": ["1.1.1.1;reboot"]}}, "servers/web/hosts: '1.1.1.1;reboot' is not a host name"),
], ids=["negative-port", "huge-port", "space-in-host", "semicolon-in-host"])
def test_what_a_host_would_refuse_is_refused_when_read(tmp_path: Path, change: dict, message: str) -> None:
    data = {"service": "app", "image": "dhh/app", "registry": {"username": "u", "password": ["PASSWORD"]},
            "builder": {"arch": "amd64"}, "servers": {"web": ["1.1.1.1"]}, **change}
    write_project(tmp_path, {"config/deploy.yml": yaml.safe_dump(data), ".kamal/secrets": "PASSWORD=p\n"})
    with pytest.raises(ConfigError) as refused:
        load(root=tmp_path, version="1", environ={})
    assert message in str(refused.value)


def test_host_names_ipv4_and_bracketed_ipv6_addresses_are_hosts(tmp_path: Path) -> None:
    data = {"service": "app", "image": "dhh/app", "registry": {"username": "u", "password": ["PASSWORD"]},
            "builder": {"arch": "amd64"}, "servers": {"web": ["web-1.example.com", "10.0.0.1", "[2001:db8::1]", "deploy@10.0.0.2:2222"]}}
    write_project(tmp_path, {"config/deploy.yml": yaml.safe_dump(data), ".kamal/secrets": "PASSWORD=p\n"})
    assert load(root=tmp_path, version="1", environ={}).all_hosts == [
        "web-1.example.com", "10.0.0.1", "[2001:db8::1]", "deploy@10.0.0.2:2222"]
