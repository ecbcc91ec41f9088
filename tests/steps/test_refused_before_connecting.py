"""Malformed configurations and arguments are refused with their message before any host is
contacted. A canary shows that nothing ran: every host of these projects is a local TCP
listener that counts connection attempts, and a `pre-connect` hook (run just before the
first connection) writes a file. A well-formed project, run the same way, trips both."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Each case is one `kamalnb` process; they run a few at a time.
pytestmark = pytest.mark.timeout(600)

SECRETS = "KAMAL_REGISTRY_PASSWORD=secret\nDB_PASSWORD=pw\n"
BIG = "a" * 1_000_000


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections made to it and closes each."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


def deploy_yml(port: int, **replace: str) -> str:
    """A well-formed project whose hosts are the listener; `replace` swaps top-level sections
    (a value of "" drops one)."""
    sections = {
        "service": "service: app",
        "image": "image: acme/app",
        "servers": "servers:\n  web:\n    - 127.0.0.1\n  jobs:\n    hosts: [127.0.0.1]\n    cmd: bin/jobs\n"
                   "    proxy: false",
        "registry": "registry:\n  server: 127.0.0.1:1\n  username: acme\n  password: [KAMAL_REGISTRY_PASSWORD]",
        "builder": "builder:\n  arch: amd64",
        "env": "env:\n  clear:\n    MODE: production\n  secret:\n    - DB_PASSWORD",
        "proxy": "proxy:\n  app_port: 3000",
        "ssh": f"ssh:\n  user: root\n  port: {port}\n  config: false",
    }
    extra = {key: value for key, value in replace.items() if key not in sections}
    sections.update({key: value for key, value in replace.items() if key in sections})
    return "\n".join(value for value in [*sections.values(), *extra.values()] if value) + "\n"


@dataclass
class Bad:
    id: str
    message: str
    replace: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    raw: str | None = None
    verb: tuple[str, ...] = ("deploy", "-P")


ONE_HOST = "servers:\n  web:\n    - {host}"
BAD = [
    # What Kamal's own validation refuses, with Kamal's words.
    Bad("unknown-key", "unknown key: healthchek", {"healthchek": "healthchek: 1"}),
    Bad("servers-string", "servers: should be an array or a hash", {"servers": "servers: 127.0.0.1"}),
    Bad("missing-image", "Missing required configuration for image", {"image": ""}),
    Bad("missing-service", "Missing required configuration for service", {"service": ""}),
    Bad("retain-zero", "Must retain at least 1 container", {"retain": "retain_containers: 0"}),
    Bad("readiness-delay-string", "readiness_delay: should be an integer", {"readiness": "readiness_delay: soon"}),
    Bad("boot-limit-list", "boot/limit: should be a string", {"boot": "boot:\n  limit: [1]"}),
    Bad("registry-username-missing", "registry/username: is required",
        {"registry": "registry:\n  server: 127.0.0.1:1\n  password: [KAMAL_REGISTRY_PASSWORD]"}),
    Bad("proxy-ssl-without-host", "proxy: Must set a host to enable automatic SSL",
        {"proxy": "proxy:\n  app_port: 3000\n  ssl: true"}),
    Bad("hooks-output", "Invalid hooks_output 'loud', must be one of: quiet, verbose", {"hooks": "hooks_output: loud"}),
    Bad("alias-name", "Invalid alias name: 'Deploy2'", {"aliases": "aliases:\n  Deploy2: app details"}),
    Bad("minimum-version", "Current version is 2.12.0, minimum required is 99.1", {"minimum": "minimum_version: 99.1"}),
    Bad("invalid-yaml", "invalid YAML", raw="service: [a\n"),
    Bad("no-hosts-match", "No --hosts match for 9.9.9.9", args=["-h", "9.9.9.9"]),
    Bad("no-roles-match", "No --roles match for workers", args=["-r", "workers"]),
    Bad("require-destination", "You must specify a destination", {"require": "require_destination: true"}),
    # An empty file says so.
    Bad("empty-deploy-yml", "config/deploy.yml is empty: it needs at least service, image, servers", raw=""),
    Bad("comments-only-deploy-yml", "config/deploy.yml is empty", raw="# nothing yet\n"),
    # Service names.
    Bad("service-space", "Service name can only include alphanumeric characters, hyphens, and underscores",
        {"service": "service: my app"}),
    Bad("service-semicolon", "Service name can only include alphanumeric characters, hyphens, and underscores",
        {"service": "service: 'app;reboot'"}),
    Bad("service-line-break", "Service name can only include alphanumeric characters, hyphens, and underscores",
        {"service": 'service: "app\\nreboot"'}),
    Bad("service-one-megabyte", "Service name is 1000000 characters long: it can be at most 63",
        {"service": f"service: {BIG}"}),
    Bad("service-uppercase-as-image", "image: 'MyApp' is not an image name Docker accepts (Docker's repository "
        "names are lowercase)", {"service": "service: MyApp", "image": "",
                                 "registry": "registry:\n  server: localhost:5555"}),
    # Image names and the registry.
    Bad("image-uppercase", "image: 'Acme/App' is not an image name Docker accepts (Docker's repository names are "
        "lowercase)", {"image": "image: Acme/App"}),
    Bad("image-space", "image: 'acme/my app' is not an image name Docker accepts", {"image": "image: acme/my app"}),
    Bad("image-semicolon", "image: 'acme/app;reboot' is not an image name", {"image": "image: 'acme/app;reboot'"}),
    Bad("image-with-tag", "image: 'acme/app:1.0' is not an image name", {"image": "image: 'acme/app:1.0'"}),
    Bad("image-too-long", "is not an image name Docker accepts", {"image": f"image: acme/{'a' * 300}"}),
    Bad("registry-server-space", "registry/server: 'reg istry.example.com' is not a registry address",
        {"registry": "registry:\n  server: reg istry.example.com\n  username: acme\n"
                     "  password: [KAMAL_REGISTRY_PASSWORD]"}),
    # Versions Docker refuses as tags, from the command line and the environment.
    Bad("version-space", "The version 'a b' is not a tag Docker accepts for the image", args=["--version", "a b"]),
    Bad("version-semicolon", "The version 'a;reboot' is not a tag Docker accepts", args=["--version", "a;reboot"]),
    Bad("version-leading-dot", "The version '.hidden' is not a tag Docker accepts", args=["--version", ".hidden"]),
    Bad("version-too-long", "is not a tag Docker accepts for the image", args=["--version", "v" * 129]),
    Bad("version-subshell", "The version '$(reboot)' is not a tag", args=["--version", "$(reboot)"]),
    Bad("version-from-environment", "The version in VERSION, 'x y' is not a tag Docker accepts", env={"VERSION": "x y"}),
    Bad("rollback-version", "The version '1;reboot' is not a tag Docker accepts", verb=("rollback", "1;reboot")),
    # Hosts and ports.
    Bad("host-space", "servers/web/hosts: '127.0.0.1 reboot' is not a host name or an address",
        {"servers": ONE_HOST.format(host="'127.0.0.1 reboot'")}),
    Bad("host-semicolon", "servers/web/hosts: '127.0.0.1;reboot' is not a host name or an address",
        {"servers": ONE_HOST.format(host="'127.0.0.1;reboot'")}),
    Bad("host-subshell", "servers/web/hosts: '$(reboot)' is not a host name or an address",
        {"servers": ONE_HOST.format(host="'$(reboot)'")}),
    Bad("accessory-host-semicolon", "accessories/db: host 'db;reboot' is not a host name or an address",
        {"accessories": "accessories:\n  db:\n    image: acme/db\n    host: 'db;reboot'"}),
    Bad("app-port-negative", "servers/web/proxy/app_port: -1 is not a port", {"proxy": "proxy:\n  app_port: -1"}),
    Bad("app-port-huge", "servers/web/proxy/app_port: 10000000000000000000 is not a port",
        {"proxy": f"proxy:\n  app_port: {10**30}"}),
    Bad("app-port-string", "proxy/app_port: should be an integer", {"proxy": "proxy:\n  app_port: eighty"}),
    # Names that end up in container names, `--env` and `--label`.
    Bad("role-name-semicolon", "servers/jobs;reboot: the role name is not one Docker accepts",
        {"servers": "servers:\n  web: [127.0.0.1]\n  'jobs;reboot':\n    hosts: [127.0.0.1]\n    proxy: false"}),
    Bad("role-name-too-long", "the role name is not one Docker accepts in container names",
        {"servers": f"servers:\n  web: [127.0.0.1]\n  {'j' * 64}:\n    hosts: [127.0.0.1]\n    proxy: false"}),
    Bad("destination-semicolon", "destination 'x;reboot' is not a name Docker accepts", args=["-d", "x;reboot"],
        files={"config/deploy.x;reboot.yml": "{}\n"}),
    Bad("env-name-semicolon", "env: 'A;reboot' is not a name kamalnb passes to Docker",
        {"env": "env:\n  clear:\n    'A;reboot': x"}),
    Bad("env-secret-name-space", "env: 'DB PASSWORD' is not a name kamalnb passes to Docker",
        {"env": "env:\n  secret:\n    - DB PASSWORD"}),
    Bad("label-name-space", "labels: 'my label' is not a name kamalnb passes to Docker",
        {"labels": "labels:\n  my label: x"}),
    Bad("role-label-subshell", "servers/jobs/labels: '$(reboot)' is not a name kamalnb passes to Docker",
        {"servers": "servers:\n  web: [127.0.0.1]\n  jobs:\n    hosts: [127.0.0.1]\n    proxy: false\n"
                    "    labels:\n      '$(reboot)': x"}),
    # Secrets: every one the env files and the registry login need, before any host is asked.
    Bad("env-secret-undefined", "env/secret of role web lists API_KEY, which .kamal/secrets does not define",
        {"env": "env:\n  secret:\n    - API_KEY"}),
    Bad("env-secret-alias-undefined", "lists DATABASE_URL (secret PROD_DATABASE_URL), which .kamal/secrets does not",
        {"env": "env:\n  secret:\n    - DATABASE_URL:PROD_DATABASE_URL"}),
    Bad("role-env-secret-undefined", "env/secret of role jobs lists JOBS_TOKEN",
        {"servers": "servers:\n  web: [127.0.0.1]\n  jobs:\n    hosts: [127.0.0.1]\n    proxy: false\n"
                    "    env:\n      secret: [JOBS_TOKEN]"}),
    Bad("registry-password-undefined", "registry/password: Secret 'REGISTRY_TOKEN' not found in .kamal/secrets",
        {"registry": "registry:\n  server: 127.0.0.1:1\n  username: acme\n  password: [REGISTRY_TOKEN]"}),
    Bad("accessory-env-secret-undefined", "env/secret of accessory db lists DB_ROOT_PASSWORD, which .kamal/secrets",
        {"accessories": "accessories:\n  db:\n    image: acme/db\n    host: 127.0.0.1\n    env:\n"
                        "      secret: [DB_ROOT_PASSWORD]"}, verb=("setup", "-P")),
    Bad("no-secrets-file", "no secrets file (.kamal/secrets-common, .kamal/secrets) defines",
        files={".kamal/secrets": None}),  # type: ignore[dict-item]
]


def write(root: Path, port: int, bad: Bad | None) -> Path:
    files: dict[str, str | None] = {
        "config/deploy.yml": deploy_yml(port, **(bad.replace if bad else {})) if bad is None or bad.raw is None
        else bad.raw,
        ".kamal/secrets": SECRETS,
        ".kamal/hooks/pre-connect": f'#!/bin/sh\necho "$KAMAL_HOSTS" > "{root}/connected"\n',
        "Dockerfile": "FROM scratch\n",
        **(bad.files if bad else {}),
    }
    for name, content in files.items():
        if content is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (root / ".kamal/hooks/pre-connect").chmod(0o755)
    return root


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    connections: int
    hook_ran: bool


def run_case(base: Path, bad: Bad | None) -> Run:
    """`kamalnb <verb>` on the case's project, whose hosts are a listener of its own."""
    name = bad.id if bad else "well-formed"
    listener = Listener()
    try:
        root = write(base / name, listener.port, bad)
        verb = bad.verb if bad else ("deploy", "-P")
        args = bad.args if bad else []
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "VERSION": "1", **(bad.env if bad else {})}
        result = subprocess.run([sys.executable, "-m", "kamalnb", *verb, *args], cwd=root, env=env,
                                capture_output=True, text=True, timeout=300)
    finally:
        listener.close()
    return Run(result.returncode, result.stdout, result.stderr, listener.connections, (root / "connected").exists())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    base = tmp_path_factory.mktemp("refused")
    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(pool.map(lambda bad: (bad.id, run_case(base, bad)), BAD))


def test_at_least_forty_cases() -> None:
    assert len(BAD) >= 40
    assert len({bad.id for bad in BAD}) == len(BAD)


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_refused_with_its_message_before_any_connection(bad: Bad, runs: dict[str, Run]) -> None:
    run = runs[bad.id]
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    error = "\n".join(line for line in run.stderr.splitlines() if not line.startswith("WARNING"))
    assert bad.message in error
    assert run.connections == 0
    assert not run.hook_ran


def test_the_canary_sees_a_well_formed_deploy_connect(tmp_path: Path) -> None:
    run = run_case(tmp_path, None)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.connections >= 1
    assert run.hook_ran
    assert "127.0.0.1" in run.stderr
