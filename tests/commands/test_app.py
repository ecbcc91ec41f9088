"""Kamal's test/commands/app_test.rb expectations, against configs loaded from YAML."""

import pytest

from kamalnb.commands.app import App, container_hostname

CURRENT_ID = (
    "sh -c 'docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web "
    "--filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter "
    "reference=dhh/app:latest --format '\\''{{.ID}}'\\'') ; docker ps --latest --quiet --filter label=service=app "
    "--filter label=destination= --filter label=role=web --filter status=running --filter status=restarting' | head -1"
)
CURRENT_ID_OVER_SSH = (
    "'sh -c '\\''docker ps --latest --quiet --filter label=service=app --filter label=destination= --filter label=role=web "
    "--filter status=running --filter status=restarting --filter ancestor=$(docker image ls --filter "
    "reference=dhh/app:latest --format '\\''\\'\\'''\\''{{.ID}}'\\''\\'\\'''\\'') ; docker ps --latest --quiet --filter "
    "label=service=app --filter label=destination= --filter label=role=web --filter status=running --filter "
    "status=restarting'\\'' | head -1"
)
RUN_ENV = '--env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1"'
WEB_LABELS = '--label service="app" --label role="web" --label destination'


@pytest.fixture
def app(load_config, app_settings):
    def _app(role="web", host="1.1.1.1", destination=None, **overrides):
        config = load_config(app_settings(**overrides), destination=destination)
        return App(config, config.role(role), host)

    return _app


def test_run(app):
    assert str(app().run()) == (
        f"docker run --detach --restart unless-stopped --name app-web-999 --network kamal {RUN_ENV} "
        f'--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" {WEB_LABELS} dhh/app:999'
    )


def test_run_with_destination(app):
    assert str(app(destination="staging").run()) == (
        "docker run --detach --restart unless-stopped --name app-web-staging-999 --network kamal "
        '--env KAMAL_CONTAINER_NAME="app-web-staging-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" '
        '--env KAMAL_DESTINATION="staging" --env-file .kamal/apps/app-staging/env/roles/web.env '
        '--log-opt max-size="10m" --label service="app" --label role="web" --label destination="staging" dhh/app:999'
    )


def test_run_with_hostname(app):
    assert str(app().run(hostname="myhost")) == (
        f"docker run --detach --restart unless-stopped --name app-web-999 --network kamal --hostname myhost {RUN_ENV} "
        f'--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" {WEB_LABELS} dhh/app:999'
    )


def test_run_with_volumes(app):
    assert str(app(volumes=["/local/path:/container/path"]).run()) == (
        f"docker run --detach --restart unless-stopped --name app-web-999 --network kamal {RUN_ENV} "
        '--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --volume /local/path:/container/path '
        f"{WEB_LABELS} dhh/app:999"
    )


def test_run_with_custom_options(app):
    servers = {"web": ["1.1.1.1"], "jobs": {"hosts": ["1.1.1.2"], "cmd": "bin/jobs", "options": {"mount": "somewhere", "cap-add": True}}}
    assert str(app(role="jobs", host="1.1.1.2", servers=servers).run()) == (
        "docker run --detach --restart unless-stopped --name app-jobs-999 --network kamal "
        '--env KAMAL_CONTAINER_NAME="app-jobs-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.2" '
        '--env-file .kamal/apps/app/env/roles/jobs.env --log-opt max-size="10m" --label service="app" '
        '--label role="jobs" --label destination --mount "somewhere" --cap-add dhh/app:999 bin/jobs'
    )


def test_run_with_custom_restart_policy(app):
    servers = {"web": {"hosts": ["1.1.1.1"], "options": {"restart": "on-failure"}}}
    assert str(app(servers=servers).run()) == (
        f"docker run --detach --restart on-failure --name app-web-999 --network kamal {RUN_ENV} "
        f'--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" {WEB_LABELS} dhh/app:999'
    )


def test_run_with_logging_config(app):
    logging = {"driver": "local", "options": {"max-size": "100m", "max-file": "3"}}
    assert str(app(logging=logging).run()) == (
        f"docker run --detach --restart unless-stopped --name app-web-999 --network kamal {RUN_ENV} "
        '--env-file .kamal/apps/app/env/roles/web.env --log-driver "local" --log-opt max-size="100m" '
        f'--log-opt max-file="3" {WEB_LABELS} dhh/app:999'
    )


def test_run_with_role_logging_config(app):
    logging = {"driver": "local", "options": {"max-size": "10m", "max-file": "3"}}
    servers = {"web": {"hosts": ["1.1.1.1"], "logging": {"driver": "local", "options": {"max-size": "100m"}}}}
    assert str(app(logging=logging, servers=servers).run()) == (
        f"docker run --detach --restart unless-stopped --name app-web-999 --network kamal {RUN_ENV} "
        '--env-file .kamal/apps/app/env/roles/web.env --log-driver "local" --log-opt max-size="100m" '
        f'--log-opt max-file="3" {WEB_LABELS} dhh/app:999'
    )


def test_run_with_tags(app):
    env = {"secret": ["RAILS_MASTER_KEY"], "tags": {"tag1": {"ENV1": "value1"}}}
    assert str(app(servers=[{"1.1.1.1": "tag1"}], env=env).run()) == (
        f'docker run --detach --restart unless-stopped --name app-web-999 --network kamal {RUN_ENV} --env ENV1="value1" '
        f'--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" {WEB_LABELS} dhh/app:999'
    )


def test_run_with_clear_env_quoting_and_host_expansion(app):
    env = {"clear": {"HOST_TOKEN": "${HOST_TOKEN}", "EMPTY": "", "PRICE": "$5 `now`"}}
    assert str(app(env=env).run()) == (
        f'docker run --detach --restart unless-stopped --name app-web-999 --network kamal {RUN_ENV} '
        '--env HOST_TOKEN="${HOST_TOKEN}" --env EMPTY --env PRICE="\\$5 \\`now\\`" '
        f'--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" {WEB_LABELS} dhh/app:999'
    )


def test_run_with_assets_on_a_proxied_role(app):
    assert str(app(asset_path="/public/assets:ro").run()) == (
        f"docker run --detach --restart unless-stopped --name app-web-999 --network kamal {RUN_ENV} "
        '--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" '
        f"--volume $PWD/.kamal/apps/app/assets/volumes/web-999:/public/assets:ro {WEB_LABELS} dhh/app:999"
    )


def test_start(app):
    assert str(app().start()) == "docker start app-web-999"
    assert str(app(destination="staging").start()) == "docker start app-web-staging-999"


def test_start_version(app):
    assert str(app().start_version("123")) == "docker start app-web-123"
    assert str(app().start_version("123_replaced_ab12")) == "docker start app-web-123_replaced_ab12"


def test_stop(app):
    assert str(app().stop()) == f"{CURRENT_ID} | xargs docker stop"


def test_stop_with_custom_drain_timeout(app):
    assert str(app(drain_timeout=20).stop()) == f"{CURRENT_ID} | xargs docker stop"
    workers_id = CURRENT_ID.replace("label=role=web", "label=role=workers")
    assert str(app(role="workers", drain_timeout=20).stop()) == f"{workers_id} | xargs docker stop -t 20"


def test_stop_with_stop_timeout(app):
    servers = {
        "web": {"hosts": ["1.1.1.1"], "stop_timeout": 30},
        "workers": {"hosts": ["1.1.1.2"], "cmd": "bin/jobs", "stop_timeout": 60},
    }
    assert str(app(servers=servers).stop()) == f"{CURRENT_ID} | xargs docker stop -t 30"
    workers_id = CURRENT_ID.replace("label=role=web", "label=role=workers")
    assert str(app(role="workers", servers=servers).stop()) == f"{workers_id} | xargs docker stop -t 60"


def test_stop_with_version(app):
    assert str(app().stop(version="123")) == "docker container ls --all --filter 'name=^app-web-123$' --quiet | xargs docker stop"


def test_status(app):
    assert str(app().status(version="123")) == (
        "docker container ls --all --filter 'name=^app-web-123$' --quiet | xargs docker inspect --format "
        "'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'"
    )


def test_info(app):
    assert str(app().info()) == "docker ps --filter label=service=app --filter label=destination= --filter label=role=web"
    assert str(app(destination="staging").info()) == (
        "docker ps --filter label=service=app --filter label=destination=staging --filter label=role=web"
    )


def test_logs(app):
    assert str(app().logs()) == f"{CURRENT_ID} | xargs docker logs --timestamps 2>&1"


def test_logs_with_container_id(app):
    assert str(app().logs(container_id="C137")) == "sh -c 'echo C137' | xargs docker logs --timestamps 2>&1"


def test_logs_with_since(app):
    assert str(app().logs(since="5m")) == f"{CURRENT_ID} | xargs docker logs --timestamps --since 5m 2>&1"


def test_logs_with_lines(app):
    assert str(app().logs(lines="100")) == f"{CURRENT_ID} | xargs docker logs --timestamps --tail 100 2>&1"


def test_logs_with_since_and_lines(app):
    assert str(app().logs(since="5m", lines="100")) == (
        f"{CURRENT_ID} | xargs docker logs --timestamps --since 5m --tail 100 2>&1"
    )


def test_logs_with_grep(app):
    assert str(app().logs(grep="my-id")) == f"{CURRENT_ID} | xargs docker logs --timestamps 2>&1 | grep 'my-id'"


def test_logs_with_since_grep_and_grep_options(app):
    assert str(app().logs(since="5m", grep="my-id", grep_options="-C 2")) == (
        f"{CURRENT_ID} | xargs docker logs --timestamps --since 5m 2>&1 | grep 'my-id' -C 2"
    )


def test_logs_with_since_and_grep(app):
    assert str(app().logs(since="5m", grep="my-id")) == (
        f"{CURRENT_ID} | xargs docker logs --timestamps --since 5m 2>&1 | grep 'my-id'"
    )


def test_follow_logs(app):
    web = app()
    assert str(web.follow_logs(host="app-1")) == (
        f"ssh -t root@app-1 -p 22 {CURRENT_ID_OVER_SSH} | xargs docker logs --timestamps --follow 2>&1'"
    )
    assert str(web.follow_logs(host="app-1", grep="Completed")) == (
        f"ssh -t root@app-1 -p 22 {CURRENT_ID_OVER_SSH} | xargs docker logs --timestamps --follow 2>&1 | grep \"Completed\"'"
    )
    assert str(web.follow_logs(host="app-1", container_id="ID321")) == (
        "ssh -t root@app-1 -p 22 'sh -c '\\''echo ID321'\\'' | xargs docker logs --timestamps --follow 2>&1'"
    )
    assert str(web.follow_logs(host="app-1", lines=123)) == (
        f"ssh -t root@app-1 -p 22 {CURRENT_ID_OVER_SSH} | xargs docker logs --timestamps --tail 123 --follow 2>&1'"
    )
    assert str(web.follow_logs(host="app-1", lines=123, grep="Completed")) == (
        f"ssh -t root@app-1 -p 22 {CURRENT_ID_OVER_SSH} | xargs docker logs --timestamps --tail 123 --follow 2>&1 "
        "| grep \"Completed\"'"
    )
    assert str(web.follow_logs(host="app-1", timestamps=False, lines=123, grep="Completed")) == (
        f"ssh -t root@app-1 -p 22 {CURRENT_ID_OVER_SSH} | xargs docker logs --tail 123 --follow 2>&1 | grep \"Completed\"'"
    )


@pytest.mark.parametrize(
    "ssh, prefix",
    [
        ({"keys": ["path_to_key.pem"]}, "ssh -i path_to_key.pem -t root@app-1 -p 22"),
        ({"proxy_command": "ssh -W %h:%p user@proxy-server"}, "ssh -o ProxyCommand='ssh -W %h:%p user@proxy-server' -t root@app-1 -p 22"),
        ({"config": "~/.ssh/custom_config"}, "ssh -F ~/.ssh/custom_config -t root@app-1 -p 22"),
    ],
)
def test_follow_logs_with_ssh_settings(app, ssh, prefix):
    assert str(app(ssh=ssh).follow_logs(host="app-1")) == (
        f"{prefix} {CURRENT_ID_OVER_SSH} | xargs docker logs --timestamps --follow 2>&1'"
    )


def test_execute_in_new_container(app):
    assert str(app().execute_in_new_container("bin/rails", "db:setup", env={}, suffix="a1b2c3")) == (
        "docker run --rm --name app-web-exec-999-a1b2c3 --network kamal --env-file .kamal/apps/app/env/roles/web.env "
        '--log-opt max-size="10m" dhh/app:999 bin/rails db:setup'
    )


def test_execute_in_new_container_with_logging(app):
    logging = {"driver": "local", "options": {"max-size": "100m", "max-file": "3"}}
    assert str(app(logging=logging).execute_in_new_container("bin/rails", "db:setup", env={}, suffix="a1b2c3")) == (
        "docker run --rm --name app-web-exec-999-a1b2c3 --network kamal --env-file .kamal/apps/app/env/roles/web.env "
        '--log-driver "local" --log-opt max-size="100m" --log-opt max-file="3" dhh/app:999 bin/rails db:setup'
    )


def test_execute_in_new_container_with_env(app):
    cmd = app().execute_in_new_container("bin/rails", "db:setup", env={"foo": "bar"}, suffix="a1b2c3")
    assert str(cmd) == (
        "docker run --rm --name app-web-exec-999-a1b2c3 --network kamal --env-file .kamal/apps/app/env/roles/web.env "
        '--env foo="bar" --log-opt max-size="10m" dhh/app:999 bin/rails db:setup'
    )


def test_execute_in_new_detached_container(app):
    cmd = app().execute_in_new_container("bin/rails", "db:setup", env={}, suffix="a1b2c3", detach=True)
    assert str(cmd) == (
        "docker run --detach --name app-web-exec-999-a1b2c3 --network kamal --env-file .kamal/apps/app/env/roles/web.env "
        '--log-opt max-size="10m" dhh/app:999 bin/rails db:setup'
    )


def test_execute_in_new_container_with_tags(app):
    env = {"secret": ["RAILS_MASTER_KEY"], "tags": {"tag1": {"ENV1": "value1"}}}
    cmd = app(servers=[{"1.1.1.1": "tag1"}], env=env).execute_in_new_container("bin/rails", "db:setup", env={}, suffix="a1b2c3")
    assert str(cmd) == (
        'docker run --rm --name app-web-exec-999-a1b2c3 --network kamal --env ENV1="value1" '
        '--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" dhh/app:999 bin/rails db:setup'
    )


def test_execute_in_new_container_with_custom_options_excludes_restart_policy(app):
    servers = {"web": {"hosts": ["1.1.1.1"], "options": {"restart": "on-failure", "mount": "somewhere", "cap-add": True}}}
    cmd = str(app(servers=servers).execute_in_new_container("bin/rails", "db:setup", env={}, suffix="a1b2c3"))
    assert cmd == (
        "docker run --rm --name app-web-exec-999-a1b2c3 --network kamal --env-file .kamal/apps/app/env/roles/web.env "
        '--log-opt max-size="10m" --mount "somewhere" --cap-add dhh/app:999 bin/rails db:setup'
    )


def test_execute_in_existing_container(app):
    assert str(app().execute_in_existing_container("bin/rails", "db:setup", env={})) == "docker exec app-web-999 bin/rails db:setup"
    assert str(app().execute_in_existing_container("bin/rails", "db:setup", env={"foo": "bar"})) == (
        'docker exec --env foo="bar" app-web-999 bin/rails db:setup'
    )


def test_execute_in_new_container_over_ssh_with_tags(app):
    env = {"secret": ["RAILS_MASTER_KEY"], "tags": {"tag1": {"ENV1": "value1"}}}
    cmd = app(servers=[{"1.1.1.1": "tag1"}], env=env).execute_in_new_container_over_ssh("bin/rails", "c", env={}, suffix="a1b2c3")
    assert str(cmd) == (
        "ssh -t root@1.1.1.1 -p 22 'docker run -it --rm --name app-web-exec-999-a1b2c3 --network kamal "
        '--env ENV1="value1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" dhh/app:999 bin/rails c\''
    )


def test_execute_in_existing_container_over_ssh(app):
    assert str(app().execute_in_existing_container_over_ssh("bin/rails", "c", env={})) == (
        "ssh -t root@1.1.1.1 -p 22 'docker exec -it app-web-999 bin/rails c'"
    )
    assert str(app().execute_in_existing_container_over_ssh("bin/rails", "c", env={}, tty=False)) == (
        "ssh -t root@1.1.1.1 -p 22 'docker exec -i app-web-999 bin/rails c'"
    )


@pytest.mark.parametrize(
    "ssh, expected",
    [
        ({}, "ssh -t root@1.1.1.1 -p 22 'ls'"),
        ({"user": "app"}, "ssh -t app@1.1.1.1 -p 22 'ls'"),
        ({"port": "2222"}, "ssh -t root@1.1.1.1 -p 2222 'ls'"),
        ({"proxy": "2.2.2.2"}, "ssh -J root@2.2.2.2 -t root@1.1.1.1 -p 22 'ls'"),
        ({"proxy": "app@2.2.2.2"}, "ssh -J app@2.2.2.2 -t root@1.1.1.1 -p 22 'ls'"),
        ({"user": "app", "proxy": "2.2.2.2"}, "ssh -J root@2.2.2.2 -t app@1.1.1.1 -p 22 'ls'"),
        ({"keys": ["path_to_key.pem"]}, "ssh -i path_to_key.pem -t root@1.1.1.1 -p 22 'ls'"),
        ({"keys": ["path_to_key.pem"], "keys_only": True}, "ssh -i path_to_key.pem -o IdentitiesOnly=yes -t root@1.1.1.1 -p 22 'ls'"),
        ({"proxy_command": "ssh -W %h:%p user@proxy-server"}, "ssh -o ProxyCommand='ssh -W %h:%p user@proxy-server' -t root@1.1.1.1 -p 22 'ls'"),
        ({"config": "~/.ssh/custom_config"}, "ssh -F ~/.ssh/custom_config -t root@1.1.1.1 -p 22 'ls'"),
        ({"config": ["~/.ssh/config1", "~/.ssh/config2"]}, "ssh -F ~/.ssh/config1 -F ~/.ssh/config2 -t root@1.1.1.1 -p 22 'ls'"),
        ({"config": False}, "ssh -F /dev/null -t root@1.1.1.1 -p 22 'ls'"),
        ({"config": True}, "ssh -t root@1.1.1.1 -p 22 'ls'"),
    ],
)
def test_run_over_ssh(load_config, app_settings, ssh, expected):
    from kamalnb.commands.base import run_over_ssh

    config = load_config(app_settings(ssh=ssh))
    assert str(run_over_ssh(config.ssh, "1.1.1.1", "ls")) == expected


def test_current_running_container_id(app):
    assert str(app().current_running_container_id()) == CURRENT_ID


def test_current_running_container_id_with_destination(app):
    expected = CURRENT_ID.replace("label=destination=", "label=destination=staging").replace(
        "reference=dhh/app:latest", "reference=dhh/app:latest-staging"
    )
    assert str(app(destination="staging").current_running_container_id()) == expected


def test_container_id_for(app):
    from kamalnb.commands.base import container_id_for

    assert str(container_id_for(container_name="app-999")) == "docker container ls --all --filter 'name=^app-999$' --quiet"
    assert str(app().container_id_for_version("999", only_running=True)) == (
        "docker container ls --filter 'name=^app-web-999$' --quiet"
    )


def test_current_running_version(app):
    assert str(app().current_running_version()) == (
        "sh -c 'docker ps --latest --format '\\''{{.Names}}'\\'' --filter label=service=app --filter label=destination= "
        "--filter label=role=web --filter status=running --filter status=restarting --filter ancestor=$(docker image ls "
        "--filter reference=dhh/app:latest --format '\\''{{.ID}}'\\'') ; docker ps --latest --format '\\''{{.Names}}'\\'' "
        "--filter label=service=app --filter label=destination= --filter label=role=web --filter status=running "
        "--filter status=restarting' | head -1 | while read line; do echo ${line#app-web-}; done"
    )


def test_list_versions(app):
    web = app()
    assert str(web.list_versions()) == (
        'docker ps --filter label=service=app --filter label=destination= --filter label=role=web --format "{{.Names}}" '
        "| while read line; do echo ${line#app-web-}; done"
    )
    assert str(web.list_versions("--latest", statuses=["running", "restarting"])) == (
        "docker ps --filter label=service=app --filter label=destination= --filter label=role=web --filter status=running "
        '--filter status=restarting --latest --format "{{.Names}}" | while read line; do echo ${line#app-web-}; done'
    )


def test_list_containers(app):
    assert str(app().list_containers()) == (
        "docker container ls --all --filter label=service=app --filter label=destination= --filter label=role=web"
    )
    assert str(app(destination="staging").list_containers()) == (
        "docker container ls --all --filter label=service=app --filter label=destination=staging --filter label=role=web"
    )


def test_list_container_names(app):
    assert str(app().list_container_names()) == (
        "docker container ls --all --filter label=service=app --filter label=destination= --filter label=role=web "
        "--format '{{ .Names }}'"
    )


def test_remove_container(app):
    assert str(app().remove_container(version="999")) == (
        "docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker container rm"
    )
    assert str(app(destination="staging").remove_container(version="999")) == (
        "docker container ls --all --filter 'name=^app-web-staging-999$' --quiet | xargs docker container rm"
    )


def test_rename_container(app):
    assert str(app().rename_container(version="latest", new_version="latest_replaced_0123456789abcdef")) == (
        "docker rename app-web-latest app-web-latest_replaced_0123456789abcdef"
    )


def test_remove_containers(app):
    assert str(app().remove_containers()) == (
        "docker container prune --force --filter label=service=app --filter label=destination= --filter label=role=web"
    )
    assert str(app(destination="staging").remove_containers()) == (
        "docker container prune --force --filter label=service=app --filter label=destination=staging --filter label=role=web"
    )


def test_container_health_log(app):
    assert str(app().container_health_log(version="999")) == (
        "docker container ls --all --filter 'name=^app-web-999$' --quiet | xargs docker inspect --format '{{json .State.Health}}'"
    )


def test_images(app):
    assert str(app().list_images()) == "docker image ls dhh/app"
    assert str(app().remove_images()) == "docker image prune --all --force --filter label=service=app"
    assert str(app(destination="staging").remove_images()) == "docker image prune --all --force --filter label=service=app"


def test_tag_latest_image(app):
    assert str(app().tag_latest_image()) == "docker tag dhh/app:999 dhh/app:latest"
    assert str(app(destination="staging").tag_latest_image()) == "docker tag dhh/app:999 dhh/app:latest-staging"


def test_extract_assets(app):
    assert app(asset_path="/public/assets").extract_assets().words == (
        "mkdir", "-p", ".kamal/apps/app/assets/extracted/web-999", "&&",
        "docker", "container", "rm", "app-web-assets", "2> /dev/null", "|| true", "&&",
        "docker", "container", "create", "--name", "app-web-assets", "dhh/app:999", "&&",
        "docker", "container", "cp", "-L", "app-web-assets:/public/assets/.", ".kamal/apps/app/assets/extracted/web-999", "&&",
        "docker", "container", "rm", "app-web-assets",
    )


def test_remove_asset_container_after_a_failed_extraction(app):
    assert str(app(asset_path="/public/assets").remove_asset_container()) == "docker container rm app-web-assets"


def test_sync_asset_volumes(app):
    web = app(asset_path="/public/assets")
    assert web.sync_asset_volumes().words == (
        "mkdir", "-p", ".kamal/apps/app/assets/volumes/web-999", ";",
        "cp", "-rnT", ".kamal/apps/app/assets/extracted/web-999", ".kamal/apps/app/assets/volumes/web-999",
    )
    assert web.sync_asset_volumes(old_version="998").words == (
        "mkdir", "-p", ".kamal/apps/app/assets/volumes/web-999", ";",
        "cp", "-rnT", ".kamal/apps/app/assets/extracted/web-999", ".kamal/apps/app/assets/volumes/web-999", ";",
        "cp", "-rnT", ".kamal/apps/app/assets/extracted/web-999", ".kamal/apps/app/assets/volumes/web-998", "|| true", ";",
        "cp", "-rnT", ".kamal/apps/app/assets/extracted/web-998", ".kamal/apps/app/assets/volumes/web-999", "|| true",
    )


def test_clean_up_assets(app):
    assert app(asset_path="/public/assets").clean_up_assets().words == (
        "find", ".kamal/apps/app/assets/extracted", "-maxdepth 1", "-name", "'web-*'", "!", "-name", "web-999",
        '-exec rm -rf "{}" +', ";",
        "find", ".kamal/apps/app/assets/volumes", "-maxdepth 1", "-name", "'web-*'", "!", "-name", "web-999",
        '-exec rm -rf "{}" +',
    )


def test_error_pages_and_proxy_directories(app):
    web = app(destination="production")
    assert str(web.create_error_pages_directory()) == "mkdir -p .kamal/proxy/apps-config/app-production/error_pages"
    assert str(web.clean_up_error_pages()) == (
        "find .kamal/proxy/apps-config/app-production/error_pages -mindepth 1 -maxdepth 1 ! -name 999 -exec rm -rf {} +"
    )
    assert str(app().remove_proxy_app_directory()) == "rm -r .kamal/proxy/apps-config/app"
    assert str(app().create_ssl_directory()) == "mkdir -p .kamal/proxy/apps-config/app/tls/web"


def test_ensure_env_directory(app):
    assert str(app().ensure_env_directory()) == "mkdir -p .kamal/apps/app/env/roles"
    assert str(app(destination="staging").ensure_env_directory()) == "mkdir -p .kamal/apps/app-staging/env/roles"


@pytest.mark.parametrize(
    "host, expected",
    [
        ("1.1.1.1", "1.1.1.1-0123456789ab"),
        ("example.com.", "example.com-0123456789ab"),
        ("a" * 60, "a" * 51 + "-0123456789ab"),
    ],
)
def test_container_hostname(host, expected):
    assert container_hostname(host, "0123456789ab") == expected
