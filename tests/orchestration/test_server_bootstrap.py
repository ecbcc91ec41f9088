"""`server bootstrap` where Docker is missing: installed as Kamal installs it when the user
may, refused with every such host named when not (scripted hosts: installing Docker for
real needs the internet)."""

from __future__ import annotations

import re

import pytest

from kamalnb.errors import KamalnbError
from tests.orchestration.conftest import HOSTS

MISSING, NO_ROOT = HOSTS[1], HOSTS[2]


def test_docker_is_installed_where_missing_and_refused_where_the_user_cannot(project, executor) -> None:
    executor.on(re.compile(r"^docker -v$"), hosts=[MISSING, NO_ROOT], exit_status=127, stderr="docker: not found\n")
    executor.on(re.compile(r"EUID"), hosts=[NO_ROOT], exit_status=1)
    with pytest.raises(KamalnbError) as failed:
        project.load().server.bootstrap(executor=executor, ui="silent")
    assert f"Docker is not installed on {NO_ROOT}" in str(failed.value)
    assert "Install Docker manually" in str(failed.value)
    assert executor.ran(r"get\.docker\.com", host=MISSING)
    assert not executor.ran(r"get\.docker\.com", host=NO_ROOT)
    assert not executor.ran(r"get\.docker\.com", host=HOSTS[0])


def test_hosts_with_docker_only_get_the_run_directory_and_the_hook(project, executor) -> None:
    report = project.load().server.bootstrap(executor=executor, ui="silent")
    assert report.ok and not executor.ran(r"get\.docker\.com")
    assert all(executor.ran(r"^mkdir -p \.kamal$", host=host) for host in HOSTS)
    assert "docker-setup" in project.hook_names()
