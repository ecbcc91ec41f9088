"""Asset bridging against scripted hosts: where the asset commands fall in a rolling deploy,
and a failed extraction on one host that stops the deploy before any host boots."""

from __future__ import annotations

import re

import pytest

from kamalnb.errors import KamalnbError
from tests.orchestration.conftest import HOSTS, forget
from tests.orchestration.test_deploy import RUN_V2, STOP_V1, global_index

ASSETS = ".kamal/apps/sample/assets"
EXTRACT = r"^mkdir -p \.kamal/apps/sample/assets/extracted/web-v2 && .* docker container cp -L sample-web-assets:/app/public/assets/\. "
SYNC = (rf"^mkdir -p {ASSETS}/volumes/web-v2 ; cp -rnT {ASSETS}/extracted/web-v2 {ASSETS}/volumes/web-v2 ; "
        rf"cp -rnT {ASSETS}/extracted/web-v2 {ASSETS}/volumes/web-v1 \|\| true ; "
        rf"cp -rnT {ASSETS}/extracted/web-v1 {ASSETS}/volumes/web-v2 \|\| true$")
CLEAN_UP = rf"^find {ASSETS}/extracted -maxdepth 1 -name 'web-\*' ! -name web-v2 "


@pytest.fixture
def with_assets(project, executor):
    project.write_config(asset_path="/app/public/assets")
    project.load("v1").deploy(skip_push=True, executor=executor, ui="silent")
    forget(project, executor)
    return executor


def test_every_host_has_both_versions_assets_before_the_first_host_boots(project, with_assets) -> None:
    executor = with_assets
    assert project.load("v2").deploy(skip_push=True, executor=executor, ui="silent").ok
    first_boot = min(global_index(executor, host, RUN_V2) for host in HOSTS)
    for host in HOSTS:
        assert global_index(executor, host, EXTRACT) < global_index(executor, host, SYNC) < first_boot
        # What only v1 needed goes once v1 is stopped on that host, not before.
        assert global_index(executor, host, STOP_V1) < global_index(executor, host, CLEAN_UP)
    # The worker role has no proxy, so no assets (as Kamal).
    assert not executor.ran(r"sample-worker-assets|assets/(extracted|volumes)/worker-")


def test_a_failed_extraction_on_one_host_boots_no_host(project, with_assets) -> None:
    executor = with_assets
    executor.on(re.compile(EXTRACT), hosts=[HOSTS[2]], exit_status=1,
                stderr="Error response from daemon: Could not find the file /app/public/assets/. in container "
                       "sample-web-assets")
    with pytest.raises(KamalnbError) as failure:
        project.load("v2").deploy(skip_push=True, executor=executor, ui="silent")
    message = str(failure.value)
    assert f"{HOSTS[2]}: role web: the image registry.test:5000/sample/app:v2 has no /app/public/assets" in message
    assert HOSTS[0] not in message and HOSTS[1] not in message
    for host in HOSTS:
        assert not [text for text in executor.commands(host) if "sample-web-v2" in text and "docker run" in text]
        assert executor.host(host).state_of("sample-web-v1") == "running"
    assert "docker container rm sample-web-assets" in executor.commands(HOSTS[2])
