"""`-h`, `-r`, `-p`: host and role selection as Kamal's Commander::Specifics."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamalnb.config import load
from kamalnb.errors import ConfigError
from tests.config.conftest import write_project

DEPLOY = """\
service: app
image: app
registry: {server: localhost:5000}
builder: {arch: amd64}
primary_role: web
servers:
  web: [1.1.1.1, 1.1.1.2]
  workers: [1.1.1.3, 1.1.1.2]
  cron: [1.1.1.4]
accessories:
  db:
    image: mysql
    host: 1.1.1.9
"""


def select(tmp_path: Path, **options: object):
    write_project(tmp_path, {"config/deploy.yml": DEPLOY})
    return load(root=tmp_path, version="1", environ={}, **options).specifics  # type: ignore[arg-type]


def test_everything_by_default(tmp_path: Path) -> None:
    specifics = select(tmp_path)
    assert specifics.role_names == ["web", "cron", "workers"]
    # all_hosts follows the sorted roles (cron, web, workers); primary-role hosts move first.
    assert specifics.hosts == ["1.1.1.1", "1.1.1.2", "1.1.1.4", "1.1.1.3", "1.1.1.9"]
    assert specifics.primary_host == "1.1.1.1"
    assert specifics.primary_role.name == "web"
    assert specifics.app_hosts == ["1.1.1.1", "1.1.1.2", "1.1.1.4", "1.1.1.3"]
    assert specifics.accessory_hosts == ["1.1.1.9"]
    assert specifics.proxy_hosts == ["1.1.1.1", "1.1.1.2"]


def test_hosts_with_wildcards_move_the_primary_host(tmp_path: Path) -> None:
    specifics = select(tmp_path, hosts=["1.1.1.3", "1.1.1.{2,4}"])
    assert specifics.hosts == ["1.1.1.3", "1.1.1.2", "1.1.1.4"]
    assert specifics.primary_host == "1.1.1.3"
    assert specifics.primary_role.name == "workers"
    assert specifics.role_names == ["workers", "cron", "web"]


def test_comma_list_is_split_before_matching(tmp_path: Path) -> None:
    """As in Kamal, `-h a,{b,c}` splits on every comma, so braces only work from Python."""
    assert select(tmp_path, hosts="1.1.1.3,1.1.1.{2,4}").hosts == ["1.1.1.3"]
    assert select(tmp_path, hosts="1.1.1.[34]").hosts == ["1.1.1.4", "1.1.1.3"]


def test_roles_restrict_hosts(tmp_path: Path) -> None:
    specifics = select(tmp_path, roles="work*")
    assert specifics.role_names == ["workers"]
    assert specifics.hosts == ["1.1.1.2", "1.1.1.3"]
    assert specifics.primary_host == "1.1.1.3"


def test_hosts_and_roles_combine(tmp_path: Path) -> None:
    specifics = select(tmp_path, hosts=["1.1.1.2"], roles=["web", "workers"])
    assert specifics.role_names == ["web", "workers"]
    assert specifics.hosts == ["1.1.1.2"]
    assert specifics.primary_host == "1.1.1.2"


def test_primary(tmp_path: Path) -> None:
    assert select(tmp_path, primary=True).hosts == ["1.1.1.1"]
    specifics = select(tmp_path, primary=True, roles="workers")
    assert specifics.hosts == ["1.1.1.3"]
    assert specifics.role_names == ["workers"]


def test_no_match_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^No --hosts match for 9\.9\.9\.9$"):
        select(tmp_path, hosts="9.9.9.9")
    with pytest.raises(ConfigError, match=r"^No --roles match for api,jobs$"):
        select(tmp_path, roles="api,jobs")
