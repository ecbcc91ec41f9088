"""Malformed configurations: Kamal's exact message, a non-zero exit and no traceback.

Each case states the message; where Kamal 2.11 words it the same way (most cases), the test
also runs the real `kamal config` on the same files and compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kamalnb.config import load
from kamalnb.errors import ConfigError
from tests.config.conftest import BASE, KAMAL, Case, run_both, write_project

# Each module runs kamal dozens of times in one fixture.
pytestmark = pytest.mark.timeout(900)


@dataclass
class Bad:
    id: str
    yaml: str
    message: str
    extra_files: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    # "same": Kamal prints exactly `message`; "prefix": kamalnb adds advice after Kamal's
    # message; "skip": Kamal 2.11 differs (a 2.12 rule, or a Ruby crash kamalnb reports clearly).
    kamal: str = "same"


def base(**replace: str) -> str:
    """BASE with some top-level keys replaced (a value of "" drops the key)."""
    lines = BASE.splitlines(keepends=True)
    out, skipping = [], False
    for line in lines:
        key = line.split(":", 1)[0]
        if not line.startswith(" ") and key in replace:
            skipping = True
            if replace[key]:
                out.append(replace[key] if replace[key].endswith("\n") else replace[key] + "\n")
            continue
        if skipping and line.startswith(" "):
            continue
        skipping = False
        out.append(line)
    return "".join(out)


BAD = [
    Bad("unknown-key", BASE + "healthchek: 1\n", "unknown key: healthchek"),
    Bad("unknown-keys", BASE + "foo: 1\nbar: 2\n", "unknown keys: foo, bar"),
    Bad("hosts-not-array", base(servers="servers:\n  web:\n    hosts: 1.1.1.1"), "servers/web/hosts: should be an array"),
    Bad("servers-string", base(servers="servers: 1.1.1.1"), "servers: should be an array or a hash"),
    Bad("role-nil", base(servers="servers:\n  web:"), "servers/web: should be an array or a hash"),
    Bad("multiple-hosts", base(servers="servers:\n  - 1.1.1.1: a\n    1.1.1.2: b"), "servers/0: multiple hosts found"),
    Bad("host-tag-hash", base(servers="servers:\n  - 1.1.1.1: {a: b}"), "servers/0/1.1.1.1: should be a string or an array"),
    Bad("role-unknown-key", base(servers="servers:\n  web:\n    hosts: [1.1.1.1]\n    command: x"),
        "servers/web: unknown key: command"),
    Bad("missing-service", base(service=""), "Missing required configuration for service"),
    Bad("missing-image", base(image=""), "Missing required configuration for image"),
    Bad("missing-registry", base(registry=""), "registry/username: is required"),
    Bad("registry-password-two", base(registry="registry:\n  username: u\n  password: [A, B]"),
        "registry/password: should be a string or an array with one string (for secret lookup)"),
    Bad("registry-unknown", base(registry="registry:\n  server: r\n  username: u\n  password: p\n  token: t"),
        "registry: unknown key: token"),
    Bad("missing-builder", base(builder=""), "builder: Builder arch not set"),
    Bad("builder-cache-type", base(builder="builder:\n  arch: amd64\n  cache:\n    type: s3"),
        "builder: Invalid cache type: s3"),
    Bad("builder-local-false", base(builder="builder:\n  arch: amd64\n  local: false"),
        "builder: Cannot disable local builds, no remote is set"),
    Bad("builder-arch-hash", base(builder="builder:\n  arch: {a: b}"), "builder/arch: should be an array or a string"),
    Bad("builder-args-list", base(builder="builder:\n  arch: amd64\n  args: [A]"), "builder/args: should be a hash"),
    Bad("service-name", base(service="service: my app"),
        "Service name can only include alphanumeric characters, hyphens, and underscores"),
    Bad("primary-role-missing", base(servers="servers:\n  workers: [1.1.1.1]"), "The primary_role web isn't defined"),
    Bad("primary-role-empty", base(servers="servers:\n  web: []"), "No servers specified for the web primary_role"),
    Bad("role-empty", base(servers="servers:\n  web: [1.1.1.1]\n  workers: []"),
        "No servers specified for the workers role. You can ignore this with allow_empty_roles: true"),
    Bad("no-servers", base(servers=""), "No servers or accessories specified"),
    Bad("env-unknown-key", BASE + "env:\n  clear: {A: b}\n  FOO: bar\n", "env: unknown key: FOO"),
    Bad("env-value-hash", BASE + "env:\n  A: {b: c}\n", "env/A: should be a string"),
    Bad("env-secret-string", BASE + "env:\n  secret: A\n", "env/secret: should be an array"),
    Bad("env-tags-in-role", base(servers="servers:\n  web:\n    hosts: [1.1.1.1]\n    env:\n      tags:\n        a: {B: c}"),
        "servers/web/env: tags are only allowed in the root env"),
    Bad("reserved-label", base(servers="servers:\n  web:\n    hosts: [1.1.1.1]\n    labels:\n      role: x"),
        "servers/web/labels/role: invalid label. destination, role, and service are reserved labels"),
    Bad("labels-list", BASE + "labels: [a]\n", "labels: should be a hash"),
    Bad("accessory-two-placements", BASE + "accessories:\n  db:\n    image: mysql\n    host: 1.1.1.1\n    roles: [web]\n",
        "accessories/db: specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`"),
    Bad("accessory-unknown-role", BASE + "accessories:\n  db:\n    image: mysql\n    role: db\n",
        "accessories/db: unknown role db"),
    Bad("accessory-unknown-roles", BASE + "accessories:\n  db:\n    image: mysql\n    roles: [web, db, cache]\n",
        "accessories/db: unknown roles db, cache"),
    Bad("accessory-files-string", BASE + "accessories:\n  db:\n    image: mysql\n    host: h\n    files: a:b\n",
        "accessories/db/files: should be an array"),
    Bad("accessory-nil", BASE + "accessories:\n  db:\n", "accessories/db: should be a hash"),
    Bad("proxy-host-and-hosts", BASE + "proxy:\n  host: a.com\n  hosts: [b.com]\n",
        "proxy: Specify one of 'host' or 'hosts', not both"),
    Bad("role-proxy-merged-host-and-hosts", base(servers="servers:\n  web:\n    hosts: [1.1.1.1]\n    proxy:\n      host: a.com")
        + "proxy:\n  hosts: [b.com]\n", "proxy: Specify one of 'host' or 'hosts', not both"),
    Bad("proxy-ssl-without-host", BASE + "proxy:\n  ssl: true\n", "proxy: Must set a host to enable automatic SSL"),
    Bad("proxy-ssl-many-servers", base(servers="servers: [1.1.1.1, 1.1.1.2]") + "proxy:\n  host: a.com\n  ssl: true\n",
        "SSL is only supported on a single server unless you provide custom certificates, found 2 servers for role web",
        kamal="prefix"),
    Bad("proxy-ssl-shared-host", base(servers="servers:\n  web: [1.1.1.1]\n  api:\n    hosts: [1.1.1.2]\n    proxy: true")
        + "proxy:\n  host: a.com\n  ssl: true\n", "Different roles can't share the same host for SSL: a.com"),
    Bad("proxy-certificate-without-key", BASE + "proxy:\n  host: a.com\n  ssl:\n    certificate_pem: CERT\n",
        "proxy: Missing private_key_pem setting (required when certificate_pem is present)"),
    Bad("proxy-run-unpublished-ports", BASE + "proxy:\n  run:\n    publish: false\n    http_port: 8080\n",
        "proxy: Cannot set http_port, https_port or bind_ips when publish is false"),
    Bad("proxy-healthcheck-string", BASE + "proxy:\n  healthcheck: /up\n", "proxy/healthcheck: should be a hash"),
    Bad("proxy-app-port-string", BASE + "proxy:\n  app_port: eighty\n", "proxy/app_port: should be an integer"),
    Bad("proxy-runs-conflict", base(servers="servers:\n  web: [1.1.1.1]\n  api:\n    hosts: [1.1.1.1]\n    proxy:\n"
                                    "      hosts: [b.com]\n      run:\n        http_port: 81")
        + "proxy:\n  hosts: [a.com]\n  run:\n    http_port: 80\n", "Conflicting proxy run configurations for host 1.1.1.1"),
    Bad("ssh-port-list", BASE + "ssh:\n  port: [22]\n", "ssh/port: should be a string"),
    Bad("ssh-config-number", BASE + "ssh:\n  config: 1\n", "ssh/config: should be a boolean or a string or an array"),
    Bad("ssh-log-level", BASE + "ssh:\n  log_level: chatty\n", "invalid log level: chatty"),
    Bad("ssh-unknown", BASE + "ssh:\n  username: x\n", "ssh: unknown key: username"),
    Bad("sshkit-string", BASE + "sshkit:\n  max_concurrent_starts: many\n", "sshkit/max_concurrent_starts: should be an integer"),
    Bad("boot-limit-list", BASE + "boot:\n  limit: [1]\n", "boot/limit: should be a string"),
    Bad("readiness-delay-string", BASE + "readiness_delay: soon\n", "readiness_delay: should be an integer"),
    Bad("retain-zero", BASE + "retain_containers: 0\n", "Must retain at least 1 container"),
    Bad("require-destination", BASE + "require_destination: true\n", "You must specify a destination"),
    Bad("hooks-output-invalid", BASE + "hooks_output: loud\n", "Invalid hooks_output 'loud', must be one of: quiet, verbose"),
    Bad("hooks-output-invalid-hook", BASE + "hooks_output:\n  pre-deploy: loud\n",
        "Invalid hooks_output 'loud' for hook 'pre-deploy', must be one of: quiet, verbose"),
    Bad("alias-builtin", BASE + "aliases:\n  deploy: app details\n", "aliases/deploy: Alias 'deploy' conflicts with a built-in command."),
    Bad("alias-name", BASE + "aliases:\n  Deploy2: app details\n",
        "aliases/Deploy2: Invalid alias name: 'Deploy2'. Must only contain lowercase letters, alphanumeric, hyphens and underscores."),
    Bad("logging-options-list", BASE + "logging:\n  options: [a]\n", "logging/options: should be a hash"),
    Bad("nested-extension", BASE + "ssh:\n  x-note: hi\n", "ssh: unknown key: x-note"),
    Bad("local-registry-remote-builder", base(registry="registry:\n  server: localhost:5000",
                                              builder="builder:\n  arch: amd64\n  remote: docker@builder\n  local: false"),
        "Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)"),
    Bad("traefik-hooks", BASE, "Found pre-traefik-reboot, these should be renamed to (pre|post)-proxy-reboot",
        extra_files={".kamal/hooks/pre-traefik-reboot": "#!/bin/sh\n"}),
    Bad("no-hosts-match", BASE, "No --hosts match for 9.9.9.9,8.*", args=["-h", "9.9.9.9,8.*"]),
    Bad("no-roles-match", BASE, "No --roles match for workers", args=["-r", "workers"]),
    Bad("kamal1-traefik", BASE + "traefik:\n  options: {publish: [8080]}\n", "unknown key: traefik", kamal="prefix"),
    Bad("kamal1-healthcheck", BASE + "healthcheck:\n  path: /up\n  port: 3000\n", "unknown key: healthcheck", kamal="prefix"),
    Bad("restart-policy-invalid", base(servers="servers:\n  web:\n    hosts: [1.1.1.1]\n    options:\n      restart: sometimes"),
        "servers/web/options/restart: should be no, always, unless-stopped, on-failure, or on-failure:N", kamal="skip"),
    Bad("minimum-version", BASE + "minimum_version: 99.1\n", "Current version is 2.12.0, minimum required is 99.1", kamal="skip"),
    Bad("top-level-list", "- a\n- b\n", "config/deploy.yml: should be a hash of settings (found list)", kamal="skip"),
    Bad("invalid-yaml", "service: [a\n", "config/deploy.yml:2: invalid YAML: expected ',' or ']', but got '<stream end>'",
        kamal="skip"),
    Bad("erb-unsupported", BASE + "labels:\n  arch: <%= `uname -m` %>\n",
        'config/deploy.yml:12: unsupported ERB `<%= `uname -m` %>`; kamalnb understands <%= ENV["NAME"] %>, '
        '<%= ENV.fetch("NAME") %> and <%= ENV.fetch("NAME", "default") %>', kamal="skip"),
    Bad("erb-fetch-unset", BASE + "labels:\n  a: <%= ENV.fetch(\"KAMALNB_UNSET_VAR\") %>\n",
        'config/deploy.yml:12: ENV.fetch("KAMALNB_UNSET_VAR") failed: the environment variable KAMALNB_UNSET_VAR '
        'is not set (set it, or give a default: ENV.fetch("KAMALNB_UNSET_VAR", "value"))', kamal="skip"),
    Bad("erb-code-tag", BASE + "<% if true %>\nlabels: {a: b}\n<% end %>\n",
        'config/deploy.yml:11: unsupported ERB `<% if true %>`: only output tags are understood '
        '(<%= ENV["NAME"] %>, <%= ENV.fetch("NAME") %> and <%= ENV.fetch("NAME", "default") %>)', kamal="skip"),
]


def _case(bad: Bad) -> Case:
    return Case(bad.id, {"config/deploy.yml": bad.yaml, **bad.extra_files}, args=bad.args)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_both(tmp_path_factory.mktemp("malformed"), [_case(bad) for bad in BAD], ["config"])


def test_at_least_thirty_cases() -> None:
    assert len(BAD) >= 30
    assert len({bad.id for bad in BAD}) == len(BAD)


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_cli_reports_the_message(bad: Bad, runs: dict) -> None:
    kamal, ours, _ = runs[bad.id]
    assert ours.returncode == 1
    assert "Traceback" not in ours.stderr
    assert ours.stdout == ""
    if bad.kamal == "prefix":
        assert ours.kamalnb_error.startswith(bad.message + " (")
    else:
        assert ours.kamalnb_error == bad.message
    if KAMAL is not None and bad.kamal != "skip":
        assert kamal.returncode != 0
        assert kamal.kamal_error == bad.message


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_python_api_raises_config_error(bad: Bad, tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": bad.yaml, **bad.extra_files})
    options: dict = {}
    for flag, value in zip(bad.args[::2], bad.args[1::2], strict=True):
        options[{"-h": "hosts", "-r": "roles", "-d": "destination"}[flag]] = value
    with pytest.raises(ConfigError) as raised:
        load(root=tmp_path, environ={"VERSION": "1"}, **options)
    if bad.kamal == "prefix":
        assert str(raised.value).startswith(bad.message + " (")
    else:
        assert str(raised.value) == bad.message


def test_kamal1_keys_say_what_replaced_them(tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": BASE + "traefik: {}\nhealthcheck: {path: /up}\n"})
    with pytest.raises(ConfigError) as raised:
        load(root=tmp_path, environ={"VERSION": "1"})
    message = str(raised.value)
    assert message.startswith("unknown keys: traefik, healthcheck (")
    assert "`proxy:`" in message and "proxy: healthcheck:" in message and "readiness_delay" in message
