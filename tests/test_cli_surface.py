"""The command line's surface without hosts: Kamal's verbs exist, unknown words get Kamal's
`Could not find command` with the closest match, aliases expand as Kamal expands them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kamalnb.cli.main import build_parser, expand_alias, main, not_found

KAMAL_VERBS = {
    (): ["setup", "deploy", "redeploy", "rollback", "details", "audit", "config", "docs", "init", "remove",
         "upgrade", "version", "app", "prune", "registry", "server", "lock", "secrets"],
    ("app",): ["boot", "start", "stop", "details", "exec", "containers", "stale_containers", "images", "logs",
               "remove", "version"],
    ("prune",): ["all", "images", "containers"],
    ("registry",): ["setup", "remove", "login", "logout"],
}

DEPLOY_YML = """\
service: demo
image: demo/app
servers: [192.0.2.1, 192.0.2.2]
registry: {server: registry.example, username: me, password: secret}
builder: {arch: amd64}
aliases:
  running: app version
  console: app exec -i --reuse "bin/rails console"
"""


def choices(path: tuple[str, ...]) -> list[str]:
    import argparse

    parser = build_parser()
    for word in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


@pytest.mark.parametrize("path", list(KAMAL_VERBS))
def test_every_kamal_verb_outside_accessories_proxy_and_build_exists(path) -> None:
    assert set(KAMAL_VERBS[path]) <= set(choices(path))


def test_unknown_verbs_get_kamals_message_with_the_closest_match(capsys) -> None:
    assert not_found("containerz", ["containers", "images"]) == 'Could not find command "containerz".\n' \
                                                                 'Did you mean?  "containers"'
    assert main(["app", "containerz"]) == 1
    assert capsys.readouterr().err == 'Could not find command "containerz".\nDid you mean?  "containers"\n'
    assert main(["app", "logs", "--greps", "x"]) == 1
    assert capsys.readouterr().err == 'ERROR: "kamalnb app logs" was called with arguments ["--greps", "x"]\n' \
                                      'Did you mean?  "--grep"\n'


def test_aliases_expand_as_kamal_does(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(DEPLOY_YML)
    monkeypatch.chdir(tmp_path)
    commands = choices(())
    assert expand_alias(["console"], commands) == ["app", "exec", "-i", "--reuse", "bin/rails console"]
    assert expand_alias(["-q", "running", "-r", "web"], commands) == ["-q", "app", "version", "-r", "web"]
    assert expand_alias(["deploy"], commands) == ["deploy"]
    assert main(["runing"]) == 1
    assert capsys.readouterr().err == 'Could not find command "runing".\nDid you mean?  "running"\n'
    # The alias runs the aliased command: here, its plan.
    assert main(["running", "--plan"]) == 0
    assert "docker ps --latest" in capsys.readouterr().out


def test_docs_and_upgrade_print_kamalnbs_own_text() -> None:
    docs = subprocess.run([sys.executable, "-m", "kamalnb", "docs", "proxy"], capture_output=True, text=True)
    assert docs.returncode == 0 and "app_port" in docs.stdout
    unknown = subprocess.run([sys.executable, "-m", "kamalnb", "docs", "nope"], capture_output=True, text=True)
    assert unknown.returncode == 1 and "choose one of" in unknown.stderr
    upgrade = subprocess.run([sys.executable, "-m", "kamalnb", "upgrade"], capture_output=True, text=True)
    assert upgrade.returncode == 0 and "Traefik" in upgrade.stdout and "kamalnb setup" in upgrade.stdout


def test_remove_asks_outside_python_and_refuses_without_a_terminal(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(DEPLOY_YML)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["remove"]) == 1
    assert "pass -y" in capsys.readouterr().err
    import kamalnb

    with pytest.raises(kamalnb.errors.ConfigError, match="confirm=True"):
        kamalnb.load("config/deploy.yml").remove()
