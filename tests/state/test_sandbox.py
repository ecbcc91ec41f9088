"""Fleet-state tables against the sandbox, after setting up states exactly as Kamal leaves them:
containers `<service>-<role>-<version>` with the service/role/destination labels on the `kamal`
network, images labelled with the service, `latest` tags, audit lines and a lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import kamalnb
from kamalnb import state
from kamalnb.commands.app import App as AppCommands
from kamalnb.commands.auditor import Auditor
from kamalnb.commands.base import Command
from kamalnb.commands.lock import Lock
from kamalnb.commands.server import Server
from kamalnb.executors import SshExecutor
from kamalnb.extension import Extension
from kamalnb.fanout import fan_out
from kamalnb.proxy import CaddyDriver, Route
from kamalnb.sandbox import sample_app

pytestmark = pytest.mark.sandbox

SERVICE = "statecheck"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def write_config(sandbox, directory: Path, *, edit=lambda text: text) -> Path:
    text = sample_app.deploy_yml(sandbox).replace("service: sample", f"service: {SERVICE}")
    text = text.replace("image: sample/app", f"image: {SERVICE}/app")
    path = directory / "config" / "deploy.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(edit(text))
    return path


def sh(ssh, host: str, *argv: str, check: bool = True) -> str:
    return ssh.run(host, Command.from_argv(argv), check=check).stdout


def clean(ssh, hosts: list[str], repository: str) -> None:
    def wipe(host: str) -> None:
        ids = sh(ssh, host, "docker", "ps", "--all", "--quiet", "--filter", f"label=service={SERVICE}").split()
        ids += sh(ssh, host, "docker", "ps", "--all", "--quiet", "--filter", f"name=^{SERVICE}-").split()
        if ids:
            sh(ssh, host, "docker", "rm", "--force", *dict.fromkeys(ids))
        images = sh(ssh, host, "docker", "image", "ls", "--quiet", repository).split()
        if images:
            sh(ssh, host, "docker", "image", "rm", "--force", *dict.fromkeys(images))
        sh(ssh, host, "rm", "-rf", f".kamal/{SERVICE}-audit.log", f".kamal/lock-{SERVICE}")

    fan_out(hosts, wipe).check("clean")


def build_images(sandbox, tmp: Path) -> dict[str, str]:
    """Two versions of the sample app in the service's repository, labelled `service=statecheck`
    as Kamal labels what it builds."""
    base = sample_app.build(sandbox, SERVICE)
    references = {}
    for version in ("v1", "v2"):
        context = tmp / version
        context.mkdir()
        (context / "Dockerfile").write_text(
            f'FROM {base}\nLABEL service="{SERVICE}"\nENV STATECHECK_BUILD={version}\n')
        reference = f"{sandbox.registry}/{SERVICE}/app:{version}"
        sandbox.laptop_docker("build", "-q", "-t", reference, str(context))
        sandbox.laptop_docker("push", "-q", reference)
        references[version] = reference
    return references


class Fleet:
    def __init__(self, ssh, images: dict[str, str]) -> None:
        self.ssh = ssh
        self.images = images

    def boot(self, host: str, role: str, version: str, image: str | None = None, *cmd: str) -> str:
        """`docker run` with the arguments Kamal gives an app container that matter here."""
        name = f"{SERVICE}-{role}-{version}"
        sh(self.ssh, host, "docker", "run", "--detach", "--restart", "unless-stopped", "--name", name,
           "--network", "kamal", "--env", f"KAMAL_CONTAINER_NAME={name}", "--env", f"KAMAL_VERSION={version}",
           "--env", f"KAMAL_HOST={host}", "--label", f"service={SERVICE}", "--label", f"role={role}",
           "--label", "destination", self.images[image or version], *cmd)
        return name

    def tag_latest(self, host: str, version: str) -> None:
        repository = self.images[version].rsplit(":", 1)[0]
        sh(self.ssh, host, "docker", "tag", self.images[version], f"{repository}:latest")


@pytest.fixture(scope="module")
def fleet(sandbox, tmp_path_factory):
    """h1: web v1 (stopped), web v2, worker v2; latest = v2.
    h2: web v2, then web v1 started later, and a container started by hand; latest = v2.
    h3: web v1 (a host the last deploy missed) and a worker the config does not put there; latest = v1."""
    tmp = tmp_path_factory.mktemp("statecheck")
    app = kamalnb.load(write_config(sandbox, tmp), version="v2", root=tmp)
    h1, h2, h3 = (host.address for host in sandbox.hosts)
    ssh = SshExecutor.from_config(app.config)
    clean(ssh, [h1, h2, h3], app.config.repository)
    fleet = Fleet(ssh, build_images(sandbox, tmp))
    for host in (h1, h2, h3):
        sh(ssh, host, "docker", "network", "create", "kamal", check=False)

    def h1_state() -> None:
        fleet.boot(h1, "web", "v1")
        sh(ssh, h1, "docker", "stop", f"{SERVICE}-web-v1")
        fleet.boot(h1, "web", "v2")
        fleet.boot(h1, "worker", "v2", None, "/app/worker.sh")
        fleet.tag_latest(h1, "v2")

    def h2_state() -> None:
        fleet.boot(h2, "web", "v2")
        fleet.boot(h2, "web", "v1")
        sh(ssh, h2, "docker", "run", "--detach", "--name", f"{SERVICE}-hand", fleet.images["v2"])
        fleet.tag_latest(h2, "v2")

    def h3_state() -> None:
        fleet.boot(h3, "web", "v1")
        fleet.boot(h3, "worker", "v2", None, "/app/worker.sh")
        fleet.tag_latest(h3, "v1")

    tasks = {h1: h1_state, h2: h2_state, h3: h3_state}
    fan_out(tasks, lambda host: tasks[host]()).check("fleet state")
    yield app, ssh, (h1, h2, h3)
    clean(ssh, [h1, h2, h3], app.config.repository)
    ssh.close()


def rows(table: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(row) for row in table[list(columns)].itertuples(index=False, name=None)]


def test_hosts(fleet) -> None:
    app, ssh, (h1, h2, h3) = fleet
    table = state.hosts(app, ssh)
    assert rows(table, "host", "roles", "accessories", "reachable", "error") == [
        # The sample app's redis accessory is on every web host.
        (h1, "web, worker", "redis", True, None), (h2, "web", "redis", True, None), (h3, "web", "redis", True, None)]
    for host, version, running, root, free in rows(table, "host", "docker_version", "containers_running",
                                                   "docker_root", "disk_free"):
        assert version == sh(ssh, host, "docker", "version", "--format", "{{.Server.Version}}").strip()
        assert running >= 2
        assert root == sh(ssh, host, "docker", "info", "--format", "{{.DockerRootDir}}").strip()
        assert free > 0


def test_containers(fleet) -> None:
    app, ssh, (h1, h2, h3) = fleet
    v1, v2 = (f"{app.config.repository}:{version}" for version in ("v1", "v2"))
    table = state.containers(app, ssh)
    assert rows(table, "host", "role", "container", "version", "state", "health", "image", "error") == [
        (h1, "web", "statecheck-web-v2", "v2", "running", None, v2, None),
        (h1, "web", "statecheck-web-v1", "v1", "exited", None, v1, None),
        (h1, "worker", "statecheck-worker-v2", "v2", "running", None, v2, None),
        (h2, "web", "statecheck-web-v1", "v1", "running", None, v1, None),
        (h2, "web", "statecheck-web-v2", "v2", "running", None, v2, None),
        (h3, "web", "statecheck-web-v1", "v1", "running", None, v1, None),
        (h3, "worker", "statecheck-worker-v2", "v2", "running", None, v2, None),
    ]
    for host, name, container_id, created in rows(table, "host", "container", "id", "created"):
        assert sh(ssh, host, "docker", "inspect", "--format", "{{.Id}}", name).startswith(container_id)
        assert datetime.now(UTC) - timedelta(minutes=10) < created < datetime.now(UTC)


def test_versions_agree_with_kamals_own_command(fleet) -> None:
    app, ssh, (h1, h2, h3) = fleet
    table = state.versions(app, ssh)
    assert rows(table, "role", "host", "version", "container", "others", "mixed", "error") == [
        ("web", h1, "v2", "statecheck-web-v2", "", False, None),
        # v1 started after v2 here, but v2 is the image tagged latest: Kamal serves v2.
        ("web", h2, "v2", "statecheck-web-v2", "v1", False, None),
        ("web", h3, "v1", "statecheck-web-v1", "", True, None),
        ("worker", h1, "v2", "statecheck-worker-v2", "", False, None),
    ]
    for role_name, host, version in rows(table, "role", "host", "version"):
        role = app.config.role(role_name)
        kamal = sh(ssh, host, "sh", "-c", AppCommands(app.config, role, host).current_running_version().render())
        assert kamal.strip() == version


def test_images(fleet) -> None:
    app, ssh, hosts = fleet
    repository = app.config.repository
    ids = {version: sh(ssh, hosts[0], "docker", "image", "inspect", "--format", "{{.Id}}",
                       f"{repository}:{version}").strip()[7:19] for version in ("v1", "v2")}
    table = state.images(app, ssh)
    expected = []
    for host, latest in zip(hosts, ("v2", "v2", "v1"), strict=True):
        v2_tags = ["latest", "v2"] if latest == "v2" else ["v2"]
        v1_tags = ["latest", "v1"] if latest == "v1" else ["v1"]
        expected += [(host, repository, tag, ids["v2"]) for tag in v2_tags]
        expected += [(host, repository, tag, ids["v1"]) for tag in v1_tags]
    assert rows(table, "host", "repository", "tag", "id") == expected
    assert (table["size"] > 0).all() and table["error"].isna().all()


def test_lock_status_shows_a_stale_lock_on_the_primary_host(fleet) -> None:
    app, ssh, (h1, _, _) = fleet
    assert rows(state.lock_status(app, ssh), "host", "held", "error") == [(h1, False, None)]
    locked_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    # As a deploy does: the lock directory lives in .kamal, which a fresh host lacks.
    ssh.run(h1, Server(app.config).ensure_run_directory())
    ssh.run(h1, Lock(app.config).acquire("Deploying v2 by hand", "v2", locked_by="Tester", locked_at=locked_at))
    try:
        [row] = state.lock_status(app, ssh).to_dict("records")
    finally:
        ssh.run(h1, Lock(app.config).release())
    assert (row["host"], row["held"], row["locked_by"], row["version"], row["message"], row["stale"]) == (
        h1, True, "Tester", "v2", "Deploying v2 by hand", True)
    assert row["locked_at"] == pd.Timestamp(locked_at)
    assert timedelta(hours=2) <= row["age"] < timedelta(hours=2, minutes=5)
    assert Extension.from_config(app.config.kamalnb).lock_stale_after == 3600


def test_audit_merges_every_hosts_log(fleet) -> None:
    app, ssh, (h1, h2, h3) = fleet
    lines = [(h1, 0, "web", "Booted app version v1"), (h2, 1, "web", "Booted app version v2"),
             (h1, 2, "worker", "Booted app version v2"), (h3, 3, None, "Pruned images")]
    for host, minutes, role, message in lines:
        auditor = Auditor(app.config, recorded_at=T0 + timedelta(minutes=minutes), performer="tester@example.com")
        ssh.run(host, auditor.record(message, **({"role": role} if role else {})))
    table = state.audit(app, ssh)
    assert rows(table, "host", "performer", "destination", "role", "message", "error") == [
        (host, "tester@example.com", None, role, message, None) for host, _, role, message in lines]
    assert list(table["time"]) == [pd.Timestamp(T0 + timedelta(minutes=m)) for _, m, _, _ in lines]
    assert rows(state.audit(app, ssh, lines=1), "host", "message") == [
        (h2, "Booted app version v2"), (h1, "Booted app version v2"), (h3, "Pruned images")]


def test_drift_finds_a_hand_started_container_and_a_worker_off_its_hosts(fleet) -> None:
    app, ssh, (_, h2, h3) = fleet
    assert rows(state.drift(app, ssh), "kind", "host", "role", "container", "version", "state") == [
        ("unlabelled", h2, None, "statecheck-hand", None, "running"),
        ("unexpected_host", h3, "worker", "statecheck-worker-v2", "v2", "running"),
    ]


def test_drift_after_a_role_is_removed_from_the_config(fleet, sandbox, tmp_path) -> None:
    _, ssh, (h1, h2, h3) = fleet

    def edit(text: str) -> str:
        start = text.index("  worker:")
        end = text.index("registry:")
        return text[:start] + f"  jobs:\n    hosts:\n      - {h2}\n    proxy: false\n\n" + text[end:]

    app = kamalnb.load(write_config(sandbox, tmp_path, edit=edit), version="v2", root=tmp_path)
    assert [role.name for role in app.config.roles] == ["jobs", "web"]
    # Hosts come in Kamal's order: roles by name, so the jobs host first.
    assert rows(state.drift(app, ssh), "kind", "host", "role", "container") == [
        ("unlabelled", h2, None, "statecheck-hand"),
        ("missing", h2, "jobs", None),
        ("unknown_role", h1, "worker", "statecheck-worker-v2"),
        ("unknown_role", h3, "worker", "statecheck-worker-v2"),
    ]


def test_routes_show_the_proxys_upstreams(fleet) -> None:
    app, ssh, (_, _, h3) = fleet
    driver = CaddyDriver(ssh, Extension.from_config(app.config.kamalnb).proxy_image)
    proxy_was_running = len(driver.details(h3).strip().splitlines()) > 1  # a header, then the container
    driver.boot(h3)
    try:
        driver.switch(h3, Route(f"{SERVICE}-web"), f"{SERVICE}-web-v1:80")
        table = state.routes(app, ssh)
    finally:
        driver.remove_route(h3, f"{SERVICE}-web")
        if not proxy_was_running:
            driver.remove(h3)
    assert list(table["host"].unique()) == app.config.proxy_hosts
    ours = table[table["route"] == f"{SERVICE}-web"]
    assert rows(ours, "host", "role", "domains", "upstream", "in_flight", "error") == [
        (h3, "web", "", f"{SERVICE}-web-v1:80", 0, None)]
    # A host whose proxy is not running says so rather than failing the table.
    assert table[table["route"].isna()]["error"].notna().all()


def test_one_connection_per_host_across_every_table(fleet) -> None:
    app, ssh, hosts = fleet
    opened = ssh.connections_opened
    for table in (state.hosts, state.containers, state.versions, state.images, state.lock_status, state.audit,
                  state.drift):
        table(app, ssh)
    assert ssh.connections_opened == opened
    assert sorted(ssh.connected_hosts()) == sorted(hosts)


def test_an_unreachable_host_gives_a_row_not_an_exception(fleet, sandbox, tmp_path) -> None:
    _, ssh, (_, _, h3) = fleet
    down = "127.0.0.1:9"
    app = kamalnb.load(write_config(sandbox, tmp_path, edit=lambda text: text.replace(
        f"      - {h3}\n  worker:", f"      - {h3}\n      - {down}\n  worker:")), version="v2", root=tmp_path)
    assert down in app.config.role("web").hosts
    table = state.hosts(app, ssh)
    [row] = table[table["host"] == down].to_dict("records")
    assert row["reachable"] is False and row["error"]
    assert (table[table["host"] != down]["reachable"] == True).all()  # noqa: E712
    drift = state.drift(app, ssh)
    assert rows(drift[drift["host"] == down], "kind") == [("unreachable",)]


def test_without_an_executor_each_table_opens_and_closes_its_own(fleet) -> None:
    app, _, (h1, h2, h3) = fleet
    table = state.versions(app)
    assert rows(table, "role", "host", "version") == [
        ("web", h1, "v2"), ("web", h2, "v2"), ("web", h3, "v1"), ("worker", h1, "v2")]
