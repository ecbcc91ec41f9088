"""Fleet-state tables after a known sequence of real deploys."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sandbox


def test_versions_and_containers_after_two_deploys_and_a_rollback(sample) -> None:
    hosts = [host.address for host in sample.sandbox.hosts]
    first = sample.load().deploy(ui="quiet").outcomes[0].version_after
    second = sample.commit("second version")
    sample.load().deploy(ui="quiet")
    app = sample.load()

    versions = app.versions()
    assert sorted(versions[["role", "host", "version", "mixed"]].itertuples(index=False, name=None)) == sorted(
        [("web", host, second, False) for host in hosts] + [("worker", hosts[0], second, False)])

    containers = app.containers()
    expected = {(host, "web", f"sample-web-{version}", state)
                for host in hosts for version, state in ((second, "running"), (first, "exited"))}
    expected |= {(hosts[0], "worker", f"sample-worker-{version}", state)
                 for version, state in ((second, "running"), (first, "exited"))}
    assert set(containers[["host", "role", "container", "state"]].itertuples(index=False, name=None)) == expected
    assert len(containers) == len(expected)

    # The proxy dials each container by its ID (which no rename moves).
    ids = {(row.host, row.container): row.id[:12] for row in containers.itertuples()}
    routes = app.proxy.routes()
    assert sorted(routes[["host", "route", "upstream"]].itertuples(index=False, name=None)) == sorted(
        (host, "sample-web", f"{ids[(host, f'sample-web-{second}')]}:80") for host in hosts)
    assert app.drift().empty

    app.rollback(first, ui="quiet")
    versions = app.versions()
    assert set(versions["version"]) == {first} and not versions["mixed"].any()
    app.close()
