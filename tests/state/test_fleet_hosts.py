"""`kamalnb.fleet(hosts)`: a fleet read from its hosts alone, with no deploy.yml, against the
sandbox with the sample app set up on it; and the tables the runbooks add to a project
(`rollback_versions()`, `proxy.requests()`), including a version missing on one host."""

from __future__ import annotations

import pytest

import kamalnb
from kamalnb.state.containers import ROLLBACK_COLUMNS
from kamalnb.state.fleet import (
    FLEET_CONTAINERS_COLUMNS,
    FLEET_HOSTS_COLUMNS,
    FLEET_IMAGES_COLUMNS,
    FLEET_VERSIONS_COLUMNS,
)
from kamalnb.state.proxy import REQUESTS_COLUMNS
from tests.steps.conftest import sample  # noqa: F401  (the fixture: a clone of the sandbox's sample app)

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def deployed(sample):  # noqa: F811
    """The sample app set up on the fleet (proxy, redis accessory, web on 3 hosts, worker on 1)."""
    app = sample.load()
    app.setup(ui="silent")
    yield sample, app
    app.close()


@pytest.fixture
def fleet(deployed):
    project, _ = deployed
    with kamalnb.fleet([host.address for host in project.sandbox.hosts], ssh_config=project.sandbox.ssh_config) as found:
        yield found


def addresses(project) -> list[str]:
    return [host.address for host in project.sandbox.hosts]


def test_hosts_counts_every_container_and_image_and_the_disk_left(deployed, fleet):
    project, _ = deployed
    table = fleet.hosts()

    assert tuple(table.columns) == FLEET_HOSTS_COLUMNS
    assert list(table.host) == addresses(project)
    assert table.reachable.all() and table.error.isna().all()
    # web, redis and the proxy everywhere; the worker on the first host too.
    assert list(table.containers) == [4, 3, 3] and list(table.containers_running) == [4, 3, 3]
    assert (table.images >= 3).all() and (table.images_size > 0).all() and (table.disk_free > 0).all()
    assert table.docker_version.str.len().gt(0).all()


def test_containers_shows_kamals_labels_and_everything_else(deployed, fleet):
    project, app = deployed
    version = app.config.version
    table = fleet.containers()

    assert tuple(table.columns) == FLEET_CONTAINERS_COLUMNS
    for address in addresses(project):
        on_host = table[table.host == address]
        web = on_host[on_host.container == f"sample-web-{version}"].iloc[0]
        assert (web.service, web.role, web.version, web.state, web.replaced) == ("sample", "web", version,
                                                                                 "running", False)
        redis = on_host[on_host.container == "sample-redis"].iloc[0]
        assert (redis.service, redis.role, redis.version) == ("sample-redis", None, None)
        proxy = on_host[on_host.container == "kamalnb-proxy"].iloc[0]
        assert proxy.service is None and proxy.state == "running"
        # Kamal's apps first, then what has no Kamal labels.
        assert list(on_host.container)[-1] == "kamalnb-proxy"
    worker = table[table.role == "worker"]
    assert list(worker.host) == [addresses(project)[0]] and list(worker.version) == [version]


def test_versions_reads_each_kamal_apps_version_from_its_labels(deployed, fleet):
    project, app = deployed
    table = fleet.versions()

    assert tuple(table.columns) == FLEET_VERSIONS_COLUMNS
    hosts = addresses(project)
    assert list(zip(table.service, table.role, table.host, strict=True)) == [
        ("sample", "web", hosts[0]), ("sample", "web", hosts[1]), ("sample", "web", hosts[2]),
        ("sample", "worker", hosts[0])]
    assert set(table.version) == {app.config.version}
    assert not table.mixed.any()


def test_images_lists_every_tag_and_what_uses_it(deployed, fleet):
    project, app = deployed
    table = fleet.images()

    assert tuple(table.columns) == FLEET_IMAGES_COLUMNS
    repository = f"{project.sandbox.registry}/sample/app"
    for address in addresses(project):
        ours = table[(table.host == address) & (table.repository == repository)]
        current = ours[ours.tag == app.config.version].iloc[0]
        latest = ours[ours.tag == "latest"].iloc[0]
        assert current.id == latest.id and current.service == "sample" and current.used_by >= 1
        assert table[(table.host == address) & (table.repository.str.endswith("/kamalnb/redis"))].used_by.iloc[0] == 1


def test_an_unreachable_host_gives_a_row_saying_why_and_the_others_are_read(deployed):
    project, _ = deployed
    sandbox = project.sandbox
    last = sandbox.hosts[-1]
    sandbox.stop_sshd(last.name)
    try:
        with kamalnb.fleet(addresses(project), ssh_config=sandbox.ssh_config) as fleet:
            hosts = fleet.hosts()
            containers = fleet.containers()
    finally:
        sandbox.start_sshd(last.name)

    row = hosts[hosts.host == last.address].iloc[0]
    assert not row.reachable and "refused" in row.error
    assert hosts[hosts.host != last.address].reachable.all()
    assert containers[containers.host == last.address].container.isna().all()
    assert containers[containers.host == last.address].error.notna().all()
    assert containers[containers.host != last.address].error.isna().all()


def test_a_projects_fleet_reads_its_hosts_with_its_ssh_settings(deployed, fleet):
    _, app = deployed
    own = app.fleet()
    try:
        assert own.host_names == fleet.host_names
        assert own.containers().drop(columns="created").equals(fleet.containers().drop(columns="created"))
    finally:
        own.close()


def test_a_runbook_given_the_sandboxs_hosts_alone_reaches_them_with_the_sandboxs_ssh_config(deployed, monkeypatch):
    from kamalnb.runbook import NoProject, Runbook

    project, app = deployed
    monkeypatch.setenv("KAMALNB_SANDBOX", project.sandbox.name)
    monkeypatch.delenv("KAMALNB_PLAN", raising=False)
    book = Runbook.start(hosts=",".join(addresses(project)))
    assert isinstance(book.load(), NoProject) and not book.plan
    with book.fleet() as fleet:
        assert fleet.ssh_config == project.sandbox.ssh_config
        assert set(fleet.versions().version) == {app.config.version}


def test_requests_go_through_each_hosts_proxy_to_the_app(deployed):
    project, app = deployed
    table = app.proxy.requests("/version")

    assert tuple(table.columns) == REQUESTS_COLUMNS
    assert list(table.host) == addresses(project) and set(table.role) == {"web"}  # the worker has no proxy
    assert list(table.status) == [200] * 3 and set(table.body) == {app.config.version}
    assert list(table.url) == [f"http://{address}:80/version" for address in addresses(project)]
    assert set(app.proxy.requests().body) == {"ok"}  # the health check path, /up


def test_rollback_versions_names_the_hosts_where_a_version_is_missing(deployed):
    project, app = deployed
    first = app.config.version
    second = project.commit("a second version")
    app.deploy(version=second, ui="silent")
    table = app.rollback_versions()

    assert tuple(table.columns) == ROLLBACK_COLUMNS
    assert list(table.version) == [second, first]
    assert list(table.present) == ["4/4", "4/4"] and list(table.can_roll_back) == [False, True]
    assert table.running_on.iloc[0] == ", ".join(addresses(project)) and table.running_on.iloc[1] == ""

    last = project.sandbox.hosts[-1]
    project.sandbox.host_docker(last.name, "rm", "--force", f"sample-web-{first}")
    table = app.rollback_versions()
    row = table[table.version == first].iloc[0]
    assert (row.present, row.missing, row.can_roll_back) == ("3/4", f"web on {last.address}", False)
    with pytest.raises(kamalnb.ConfigError, match=f"not available as a container \\(web on {last.address}\\)"):
        app.rollback(first, ui="silent")
    assert set(app.versions().version) == {second}
