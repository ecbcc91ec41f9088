"""Kamal's test/commands/accessory_test.rb expectations."""

import copy

import pytest

from kamalnb.commands.accessory import Accessory
from kamalnb.errors import ConfigError

SETTINGS = {
    "service": "app",
    "image": "dhh/app",
    "registry": {"server": "private.registry", "username": "dhh", "password": "secret"},
    "servers": ["1.1.1.1"],
    "builder": {"arch": "amd64"},
    "accessories": {
        "mysql": {
            "image": "private.registry/mysql:8.0",
            "host": "1.1.1.5",
            "port": "3306",
            "env": {"clear": {"MYSQL_ROOT_HOST": "%"}, "secret": ["MYSQL_ROOT_PASSWORD"]},
            "options": {"cpus": "4", "memory": "2GB"},
        },
        "redis": {
            "image": "redis:latest",
            "host": "1.1.1.6",
            "port": "6379:6379",
            "labels": {"cache": "true"},
            "env": {"SOMETHING": "else"},
            "volumes": ["/var/lib/redis:/data"],
        },
        "busybox": {
            "service": "custom-busybox",
            "image": "busybox:latest",
            "registry": {"server": "other.registry", "username": "user", "password": "pw"},
            "host": "1.1.1.7",
            "proxy": {"host": "busybox.example.com"},
        },
    },
}

MYSQL_RUN = (
    'docker run --name app-mysql --detach --restart {restart} --network {network} --log-opt max-size="10m" '
    '--publish 3306:3306 --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env '
    '--label service="app-mysql" --cpus "4" --memory "2GB" private.registry/mysql:8.0'
)


@pytest.fixture
def accessory(load_config):
    def _accessory(name, settings=None, **overrides):
        settings = copy.deepcopy(settings or SETTINGS)
        settings.update(overrides)
        return Accessory(load_config(settings, secrets={"MYSQL_ROOT_PASSWORD": "secret123"}), name)

    return _accessory


def test_run(accessory):
    assert str(accessory("mysql").run()) == MYSQL_RUN.format(restart="unless-stopped", network="kamal")
    assert str(accessory("redis").run()) == (
        'docker run --name app-redis --detach --restart unless-stopped --network kamal --log-opt max-size="10m" '
        '--publish 6379:6379 --env SOMETHING="else" --env-file .kamal/apps/app/env/accessories/redis.env '
        '--volume /var/lib/redis:/data --label service="app-redis" --label cache="true" redis:latest'
    )
    assert str(accessory("busybox").run()) == (
        'docker run --name custom-busybox --detach --restart unless-stopped --network kamal --log-opt max-size="10m" '
        '--env-file .kamal/apps/app/env/accessories/busybox.env --label service="custom-busybox" '
        "other.registry/busybox:latest"
    )


def test_run_on_a_host_sets_kamal_host(accessory):
    assert str(accessory("mysql").run(host="1.1.1.5")) == MYSQL_RUN.format(restart="unless-stopped", network="kamal").replace(
        "--publish 3306:3306 ", '--publish 3306:3306 --env KAMAL_HOST="1.1.1.5" '
    )


def test_run_with_logging_config(accessory):
    logging = {"driver": "local", "options": {"max-size": "100m", "max-file": "3"}}
    assert str(accessory("busybox", logging=logging).run()) == (
        'docker run --name custom-busybox --detach --restart unless-stopped --network kamal --log-driver "local" '
        '--log-opt max-size="100m" --log-opt max-file="3" --env-file .kamal/apps/app/env/accessories/busybox.env '
        '--label service="custom-busybox" other.registry/busybox:latest'
    )


def test_run_with_custom_restart_policy(accessory):
    settings = copy.deepcopy(SETTINGS)
    settings["accessories"]["mysql"]["options"]["restart"] = "on-failure"
    assert str(accessory("mysql", settings).run()) == MYSQL_RUN.format(restart="on-failure", network="kamal")


def test_run_in_custom_network(accessory):
    settings = copy.deepcopy(SETTINGS)
    settings["accessories"]["mysql"]["network"] = "custom"
    assert str(accessory("mysql", settings).run()) == MYSQL_RUN.format(restart="unless-stopped", network="custom")


def test_run_with_files_and_directories(accessory, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\n")
    settings = copy.deepcopy(SETTINGS)
    settings["accessories"]["mysql"]["files"] = ["my.cnf:/etc/mysql/my.cnf"]
    settings["accessories"]["mysql"]["directories"] = ["data:/var/lib/mysql"]
    assert str(accessory("mysql", settings).run()) == MYSQL_RUN.format(restart="unless-stopped", network="kamal").replace(
        "--label", "--volume $PWD/app-mysql/etc/mysql/my.cnf:/etc/mysql/my.cnf --volume $PWD/app-mysql/data:/var/lib/mysql --label"
    )


def test_start_stop_info(accessory):
    mysql = accessory("mysql")
    assert str(mysql.start()) == "docker container start app-mysql"
    assert str(mysql.stop()) == "docker container stop app-mysql"
    assert str(mysql.info()) == "docker ps --filter label=service=app-mysql"
    assert str(mysql.info(all=True, quiet=True)) == "docker ps -a -q --filter label=service=app-mysql"


def test_execute_in_new_container(accessory):
    assert str(accessory("mysql").execute_in_new_container("mysql", "-u", "root")) == (
        'docker run --rm --network kamal --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env '
        '--cpus "4" --memory "2GB" private.registry/mysql:8.0 mysql -u root'
    )


def test_execute_in_new_container_excludes_restart_policy(accessory):
    settings = copy.deepcopy(SETTINGS)
    settings["accessories"]["mysql"]["options"]["restart"] = "on-failure"
    cmd = str(accessory("mysql", settings).execute_in_new_container("mysql", "-u", "root"))
    assert "--restart" not in cmd
    assert cmd == (
        'docker run --rm --network kamal --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env '
        '--cpus "4" --memory "2GB" private.registry/mysql:8.0 mysql -u root'
    )


def test_execute_in_existing_container(accessory):
    assert str(accessory("mysql").execute_in_existing_container("mysql", "-u", "root")) == "docker exec app-mysql mysql -u root"


def test_execute_over_ssh(accessory):
    mysql = accessory("mysql")
    assert str(mysql.execute_in_new_container_over_ssh("mysql", "-u", "root")) == (
        "ssh -t root@1.1.1.5 -p 22 'docker run -it --rm --network kamal --env MYSQL_ROOT_HOST=\"%\" "
        "--env-file .kamal/apps/app/env/accessories/mysql.env --cpus \"4\" --memory \"2GB\" "
        "private.registry/mysql:8.0 mysql -u root'"
    )
    assert str(mysql.execute_in_existing_container_over_ssh("mysql", "-u", "root")) == (
        "ssh -t root@1.1.1.5 -p 22 'docker exec -it app-mysql mysql -u root'"
    )
    assert str(mysql.execute_in_existing_container_over_ssh("mysql", "-u", "root", tty=False)) == (
        "ssh -t root@1.1.1.5 -p 22 'docker exec -i app-mysql mysql -u root'"
    )


def test_logs(accessory):
    mysql = accessory("mysql")
    assert str(mysql.logs()) == "docker logs app-mysql --timestamps 2>&1"
    assert str(mysql.logs(since="5m", lines=100, grep="thing")) == (
        "docker logs app-mysql  --since 5m  --tail 100 --timestamps 2>&1 | grep 'thing'"
    )
    assert str(mysql.logs(since="5m", lines=100, grep="thing", grep_options="-C 2")) == (
        "docker logs app-mysql  --since 5m  --tail 100 --timestamps 2>&1 | grep 'thing' -C 2"
    )
    assert str(mysql.logs(timestamps=False, since="5m", lines=100, grep="thing", grep_options="-C 2")) == (
        "docker logs app-mysql  --since 5m  --tail 100 2>&1 | grep 'thing' -C 2"
    )


def test_follow_logs(accessory):
    mysql = accessory("mysql")
    assert str(mysql.follow_logs()) == "ssh -t root@1.1.1.5 -p 22 'docker logs app-mysql --timestamps --tail 10 --follow 2>&1'"
    assert str(mysql.follow_logs(timestamps=False)) == "ssh -t root@1.1.1.5 -p 22 'docker logs app-mysql --tail 10 --follow 2>&1'"
    assert str(mysql.follow_logs(lines=50, since="5m")) == (
        "ssh -t root@1.1.1.5 -p 22 'docker logs app-mysql --timestamps --since 5m --tail 50 --follow 2>&1'")


def test_images_and_containers(accessory):
    mysql = accessory("mysql")
    assert str(mysql.remove_container()) == "docker container prune --force --filter label=service=app-mysql"
    assert str(mysql.pull_image()) == "docker image pull private.registry/mysql:8.0"
    assert str(mysql.remove_image()) == "docker image rm --force private.registry/mysql:8.0"
    assert str(mysql.remove_service_directory()) == "rm -rf app-mysql"
    assert str(mysql.container_id(only_running=True)) == "docker container ls --filter 'name=^app-mysql$' --quiet"


def test_env_directory_and_files(accessory):
    mysql = accessory("mysql")
    assert str(mysql.ensure_env_directory()) == "mkdir -p .kamal/apps/app/env/accessories"
    assert str(mysql.make_directory_for("app-mysql/etc/mysql/my.cnf")) == "mkdir -p app-mysql/etc/mysql"
    assert str(mysql.chmod("755", "app-mysql/etc/mysql/my.cnf")) == "chmod 755 app-mysql/etc/mysql/my.cnf"
    assert str(mysql.chown("1000:1000", "app-mysql/data")) == "chown 1000:1000 app-mysql/data"


def test_unknown_accessory_is_a_config_error(accessory):
    with pytest.raises(ConfigError, match=r"No accessory called 'postgres'.*busybox"):
        accessory("postgres")
