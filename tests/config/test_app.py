"""`kamalnb.load()` -> App, its display, `init`, and the CLI verbs of this module."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import kamalnb
from kamalnb.cli.main import main
from kamalnb.templates import HOOKS
from tests.config.conftest import (
    BASE,
    Case,
    parse_config_output,
    requires_kamal,
    run_both,
    write_project,
)

DEPLOY = BASE.replace("servers:\n  - 1.1.1.1\n", "servers:\n  web: [1.1.1.1, 1.1.1.2]\n  workers: [1.1.1.3]\n") + """\
env:
  clear:
    RAILS_ENV: production
  secret: [RAILS_MASTER_KEY]
proxy:
  host: app.example.com
accessories:
  db:
    image: mysql:8
    host: 1.1.1.9
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_project(tmp_path, {"config/deploy.yml": DEPLOY, ".kamal/secrets": "RAILS_MASTER_KEY='s3cr3t-value'\n"})
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("KAMAL")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VERSION", "abc1234")
    return tmp_path


def test_exports() -> None:
    assert kamalnb.load is not None and "load" in kamalnb.__all__ and "App" in kamalnb.__all__


def test_load_returns_app_with_frozen_config(project: Path) -> None:
    app = kamalnb.load("config/deploy.yml", roles="workers")
    assert isinstance(app, kamalnb.App)
    assert app.config.absolute_image == "registry.example.com/dhh/app:abc1234"
    assert app.config.specifics.role_names == ["workers"]
    with pytest.raises(AttributeError):
        app.config.service = "x"  # type: ignore[misc]


def test_text_and_html_display(project: Path) -> None:
    app = kamalnb.load()
    text = repr(app)
    assert text.splitlines()[0] == "App app"
    assert "web" in text and "1.1.1.1, 1.1.1.2" in text and "primary" in text
    assert "db (accessory)" in text and "mysql:8" in text
    assert "registry.example.com (user / secret KAMAL_REGISTRY_PASSWORD)" in text
    assert "RAILS_MASTER_KEY (secret)" in text
    html = app._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "1.1.1.3" in html
    assert "s3cr3t" not in text + html


def test_leftover_env_file_warns(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".env").write_text("A=1\n")
    with pytest.warns(UserWarning, match="Kamal 2 no longer reads it"):
        kamalnb.load()
    assert main(["config"]) == 0
    assert "WARNING: Found .env: Kamal 2 no longer reads it" in capsys.readouterr().err


def test_version_verb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == kamalnb.__version__


def test_config_error_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "-d", "nowhere"]) == 1
    err = capsys.readouterr().err
    assert err == f"ERROR: Configuration file not found in {project}/config/deploy.nowhere.yml\n"


def test_init_writes_templates_and_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("MINE=1\n")
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    assert "Created config/deploy.yml" in out and "Kept .kamal/secrets (already exists)" in out
    assert (tmp_path / ".kamal" / "secrets").read_text() == "MINE=1\n"
    for hook in HOOKS:
        sample = tmp_path / ".kamal" / "hooks" / f"{hook}.sample"
        assert sample.read_text().startswith("#!/bin/sh\n")
        assert sample.stat().st_mode & stat.S_IXUSR
    (tmp_path / "config" / "deploy.yml").write_text("service: mine\n")
    assert main(["init"]) == 0
    assert (tmp_path / "config" / "deploy.yml").read_text() == "service: mine\n"
    assert "Kept config/deploy.yml" in capsys.readouterr().out


def test_init_creates_the_secrets_file_readable_by_its_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    previous = os.umask(0o022)
    try:
        assert main(["init"]) == 0
    finally:
        os.umask(previous)
    assert "Created .kamal/secrets" in capsys.readouterr().out
    assert stat.S_IMODE((tmp_path / ".kamal" / "secrets").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "config" / "deploy.yml").stat().st_mode) == 0o644


@requires_kamal
def test_init_template_is_read_the_same_by_kamal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    files = {name: (tmp_path / name).read_text() for name in ("config/deploy.yml", ".kamal/secrets")}
    kamal, ours, _ = run_both(tmp_path / "golden", [Case("init", files)], ["config"])["init"]
    assert kamal.returncode == 0 and ours.returncode == 0
    assert parse_config_output(ours.stdout) == parse_config_output(kamal.stdout)


def test_config_display_reads_no_secrets(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write_project(tmp_path, {"config/deploy.yml": DEPLOY, ".kamal/secrets": f"X=$(touch {marker})\n"})
    config = kamalnb.load(root=tmp_path, version="1", environ={}).config
    html = config._repr_html_()
    assert html.startswith("<div><strong>Configuration app</strong>") and "1.1.1.9" in html

    class Printer:
        def __init__(self) -> None:
            self.out = ""

        def text(self, value: str) -> None:
            self.out += value

    printer = Printer()
    config._repr_pretty_(printer, cycle=False)
    assert printer.out.splitlines()[0] == "Configuration app"
    assert "RAILS_MASTER_KEY (secret)" in printer.out
    assert not marker.exists()


def test_notebook_in_a_subdirectory_finds_the_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project / "notebooks")
    app = kamalnb.load("../config/deploy.yml")
    assert app.config.root == project
    assert app.config.secrets["RAILS_MASTER_KEY"].reveal() == "s3cr3t-value"
