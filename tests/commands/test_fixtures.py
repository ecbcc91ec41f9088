"""Command lines Kamal's CLI tests (test/cli/*) expect for its fixture configurations."""

import pytest
import yaml

from kamalnb.commands.accessory import Accessory
from kamalnb.commands.app import App, container_hostname
from kamalnb.commands.builder import builder_for
from kamalnb.sensitive import Secret

WITH_ENV_TAGS = """
service: app
image: dhh/app
servers:
  web:
    - 1.1.1.1: site1
    - 1.1.1.2: [ site1, experimental ]
    - 1.2.1.1: site2
  workers:
    - 1.1.1.3: site1
    - 1.2.1.4: [ site2, experimental ]
builder:
  arch: amd64
env:
  clear:
    TEST: "root"
    EXPERIMENT: "disabled"
  tags:
    site1:
      SITE: site1
    site2:
      SITE: site2
    experimental:
      EXPERIMENT: "enabled"
registry:
  username: user
  password: pw
"""

WITH_DIFFERENT_REGISTRIES = """
service: app
image: dhh/app
servers:
  web: ["1.1.1.1", "1.1.1.2"]
  workers: ["1.1.1.3", "1.1.1.4"]
registry:
  server: private.registry
  username: user
  password: pw
builder:
  arch: amd64
accessories:
  mysql:
    image: private.registry/mysql:5.7
    host: 1.1.1.3
    port: 3306
    env:
      clear:
        MYSQL_ROOT_HOST: '%'
      secret:
        - MYSQL_ROOT_PASSWORD
    files:
      - files/my.cnf:/etc/mysql/my.cnf
    directories:
      - data:/var/lib/mysql
  busybox:
    service: custom-box
    image: busybox:latest
    host: 1.1.1.3
    registry:
      server: other.registry
      username: other_user
      password: other_pw
"""


@pytest.fixture
def from_yaml(load_config, tmp_path):
    def _load(text, **kwargs):
        (tmp_path / "files").mkdir(exist_ok=True)
        (tmp_path / "files" / "my.cnf").write_text("[mysqld]\n")
        return load_config(yaml.safe_load(text), **kwargs)

    return _load


def test_boot_with_host_tags(from_yaml):
    config = from_yaml(WITH_ENV_TAGS, version="latest")
    hostname = container_hostname("1.1.1.1", "0123456789ab")
    assert str(App(config, config.role("web"), "1.1.1.1").run(hostname=hostname)) == (
        "docker run --detach --restart unless-stopped --name app-web-latest --network kamal --hostname 1.1.1.1-0123456789ab "
        '--env KAMAL_CONTAINER_NAME="app-web-latest" --env KAMAL_VERSION="latest" --env KAMAL_HOST="1.1.1.1" '
        '--env TEST="root" --env EXPERIMENT="disabled" --env SITE="site1" --env-file .kamal/apps/app/env/roles/web.env '
        '--log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh/app:latest'
    )
    assert str(App(config, config.role("web"), "1.1.1.1").tag_latest_image()) == "docker tag dhh/app:latest dhh/app:latest"


def test_later_host_tags_win(from_yaml):
    config = from_yaml(WITH_ENV_TAGS)
    assert '--env TEST="root" --env EXPERIMENT="enabled" --env SITE="site1"' in str(App(config, config.role("web"), "1.1.1.2").run())
    assert '--env TEST="root" --env EXPERIMENT="enabled" --env SITE="site2"' in str(
        App(config, config.role("workers"), "1.2.1.4").run()
    )


def test_accessory_boot_with_files_directories_and_host(from_yaml):
    config = from_yaml(WITH_DIFFERENT_REGISTRIES, secrets={"MYSQL_ROOT_PASSWORD": "secret123"})
    assert str(Accessory(config, "mysql").run(host="1.1.1.3")) == (
        'docker run --name app-mysql --detach --restart unless-stopped --network kamal --log-opt max-size="10m" '
        '--publish 3306:3306 --env KAMAL_HOST="1.1.1.3" --env MYSQL_ROOT_HOST="%" '
        "--env-file .kamal/apps/app/env/accessories/mysql.env --volume $PWD/app-mysql/etc/mysql/my.cnf:/etc/mysql/my.cnf "
        '--volume $PWD/app-mysql/data:/var/lib/mysql --label service="app-mysql" private.registry/mysql:5.7'
    )
    assert str(Accessory(config, "busybox").run(host="1.1.1.3")) == (
        'docker run --name custom-box --detach --restart unless-stopped --network kamal --log-opt max-size="10m" '
        '--env KAMAL_HOST="1.1.1.3" --env-file .kamal/apps/app/env/accessories/busybox.env '
        '--label service="custom-box" other.registry/busybox:latest'
    )


def test_accessory_env_file_upload(from_yaml):
    config = from_yaml(WITH_DIFFERENT_REGISTRIES, secrets={"MYSQL_ROOT_PASSWORD": 'secret&"123'})
    upload = Accessory(config, "mysql").env_file()
    assert upload.path == ".kamal/apps/app/env/accessories/mysql.env"
    assert upload.mode == 0o600
    assert isinstance(upload.content, Secret)
    assert upload.content.reveal() == 'MYSQL_ROOT_PASSWORD=secret&"123\n'


def test_app_env_file_upload(load_config, app_settings):
    config = load_config(app_settings(), destination="staging", secrets={"RAILS_MASTER_KEY": "456"})
    upload = App(config, config.role("web"), "1.1.1.1").env_file()
    assert upload.path == ".kamal/apps/app-staging/env/roles/web.env"
    assert upload.mode == 0o600
    assert upload.content.reveal() == "RAILS_MASTER_KEY=456\n"


def test_build_pull_sequence(load_config, simple_settings):
    config = load_config(simple_settings(servers=["1.1.1.1", "1.1.1.2"]))
    builder = builder_for(config, local_arch="amd64")
    assert [str(cmd) for cmd in (builder.first_mirror(), builder.pull(), builder.validate_image())] == [
        "docker info --format '{{index .RegistryConfig.Mirrors 0}}'",
        "docker pull dhh/app:999",
        "docker inspect -f '{{ .Config.Labels.service }}' dhh/app:999 | grep -x app "
        "|| (echo \"Image dhh/app:999 is missing the 'service' label\" && exit 1)",
    ]


def test_rollback_stops_the_named_version(load_config, app_settings):
    config = load_config(app_settings(), version="123")
    app = App(config, config.role("web"), "1.1.1.1")
    assert str(app.container_id_for_version("version-to-rollback")) == (
        "docker container ls --all --filter 'name=^app-web-version-to-rollback$' --quiet"
    )
    assert str(app.stop(version="version-to-rollback")) == (
        "docker container ls --all --filter 'name=^app-web-version-to-rollback$' --quiet | xargs docker stop"
    )
