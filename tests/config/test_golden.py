"""`kamalnb config` prints what `kamal config` prints, for the same project files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.conftest import (
    BASE,
    Case,
    parse_config_output,
    requires_kamal,
    run_both,
)

# Each module runs kamal dozens of times in one fixture.
pytestmark = pytest.mark.timeout(900)

REGISTRY = """\
registry:
  server: registry.example.com
  username: user
  password: [KAMAL_REGISTRY_PASSWORD]
"""


def deploy(body: str, registry: str = REGISTRY, builder: str = "builder:\n  arch: amd64\n") -> dict[str, str]:
    return {"config/deploy.yml": "service: app\nimage: dhh/app\n" + registry + builder + body}


CASES = [
    Case("minimal", {"config/deploy.yml": BASE}),
    Case("servers-with-tags", deploy("""\
servers:
  - 1.1.1.1
  - 1.1.1.2: experiments
  - 1.1.1.3: [ experiments, three ]
""")),
    Case("roles", deploy("""\
servers:
  web:
    - 1.1.1.1
    - 1.1.1.2
  workers:
    hosts:
      - 1.1.1.3
      - 1.1.1.4: [queue]
    cmd: bin/jobs
    options:
      memory: 2g
      cpus: 4
      cap-add: true
    labels:
      my-label: workers
    logging:
      driver: local
    proxy: false
  cron:
    hosts: [1.1.1.1]
    cmd: bin/cron
primary_role: web
""")),
    Case("primary-role-workers", deploy("""\
primary_role: workers
servers:
  web: [1.1.1.9]
  workers: [1.1.1.3, 1.1.1.2]
""")),
    Case("empty-roles-allowed", deploy("""\
allow_empty_roles: true
servers:
  web: [1.1.1.1]
  workers: []
""")),
    Case("destination", {
        **deploy("servers:\n  web: [1.1.1.1]\nenv:\n  clear:\n    A: base\n    B: base\n"),
        "config/deploy.staging.yml": "servers:\n  web: [2.2.2.2, 2.2.2.3]\nenv:\n  clear:\n    B: staging\n",
    }, args=["-d", "staging"]),
    Case("destination-required", {
        **deploy("require_destination: true\nservers: [1.1.1.1]\n"),
        "config/deploy.production.yml": "servers: [3.3.3.3]\nimage: dhh/other\n",
    }, args=["-d", "production"]),
    Case("custom-config-file", {
        "deploy/app.yml": BASE,
        "deploy/app.beta.yml": "servers: [4.4.4.4]\n",
    }, args=["-c", "deploy/app.yml", "-d", "beta"]),
    Case("docker-hub", deploy("servers: [1.1.1.1]\n", registry="registry:\n  username: [DOCKER_USER]\n  password: secret-literal\n")),
    Case("local-registry-no-image", {"config/deploy.yml": """\
service: app
servers: [1.1.1.1]
registry:
  server: localhost:5555
builder:
  arch: amd64
"""}),
    Case("accessories", deploy("""\
servers:
  web:
    - 1.1.1.1
    - 1.1.1.2: [db]
  workers:
    hosts: [1.1.1.3]
accessories:
  mysql:
    image: mysql:8.0
    host: 1.1.1.5
    port: "127.0.0.1:3306:3306"
    env:
      clear:
        MYSQL_ROOT_HOST: '%'
      secret:
        - MYSQL_ROOT_PASSWORD
    files:
      - config/mysql/production.cnf:/etc/mysql/my.cnf
      - local: config/init.sql
        remote: /docker-entrypoint-initdb.d/setup.sql
        mode: "0600"
    directories:
      - data:/var/lib/mysql
    options:
      cpus: 2
  redis:
    image: redis:7
    roles: [workers]
    cmd: redis-server --appendonly yes
    volumes: ["/var/lib/redis:/data"]
    labels:
      app: cache
  search:
    service: search-svc
    image: search:1
    hosts: [1.1.1.6, 1.1.1.7]
    network: custom
    registry:
      server: ghcr.io
      username: u
      password: [GHCR]
  tagged:
    image: busybox
    tag: db
    proxy:
      host: tagged.example.com
      app_port: 8080
""")),
    Case("ssh-jump", deploy("servers: [1.1.1.1]\nssh:\n  user: deploy\n  port: 2222\n  proxy: bastion.example.com\n"
                            "  keys: [~/.ssh/a, ~/.ssh/b]\n  keys_only: true\n  log_level: debug\n")),
    Case("ssh-jump-user", deploy("servers: [1.1.1.1]\nssh:\n  proxy: app@bastion\n  config: false\n")),
    Case("ssh-proxy-command", deploy("servers: [1.1.1.1]\nssh:\n  proxy_command: \"ssh -W %h:%p user@proxy\"\n"
                                     "  config: [~/.ssh/one, ~/.ssh/two]\n")),
    Case("ssh-config-string", deploy("servers: [1.1.1.1]\nssh:\n  config: ~/.ssh/custom\n  port: \"2022\"\n")),
    Case("sshkit", deploy("servers: [1.1.1.1]\nsshkit:\n  max_concurrent_starts: 5\n  pool_idle_timeout: 60\n  dns_retries: 1\n")),
    Case("builder-full", deploy("servers: [1.1.1.1]\n", builder="""\
builder:
  arch: [amd64, arm64]
  remote: ssh://docker@builder
  local: true
  cache:
    type: registry
    options: mode=max
    image: app-cache
  context: .
  dockerfile: Dockerfile.production
  target: production
  args:
    RUBY_VERSION: 3.3.0
    DEBUG: false
  secrets: [GITHUB_TOKEN]
  ssh: default=$SSH_AUTH_SOCK
  provenance: mode=max
  sbom: true
""")),
    Case("builder-docker-driver", deploy("servers: [1.1.1.1]\n", builder="builder:\n  arch: arm64\n  driver: docker\n")),
    Case("builder-pack", deploy("servers: [1.1.1.1]\n", builder="builder:\n  arch: amd64\n  pack:\n    builder: heroku/builder:24\n"
                                "    buildpacks: [heroku/ruby, heroku/procfile]\n")),
    Case("proxy-full", deploy("""\
servers:
  web: [1.1.1.1]
  api:
    hosts: [1.1.1.2]
    proxy:
      hosts: [api.example.com]
      app_port: 4000
proxy:
  hosts: [app.example.com, www.example.com]
  app_port: 3000
  ssl: true
  ssl_redirect: false
  forward_headers: true
  response_timeout: 10
  path_prefix: /app,/admin
  strip_path_prefix: false
  healthcheck:
    path: /health
    interval: 2
    timeout: 4
  buffering:
    requests: true
    responses: false
    max_request_body: 40000000
    memory: 2000000
  logging:
    request_headers: [Cache-Control, X-Forwarded-Proto]
    response_headers: [X-Request-ID]
  run:
    http_port: 8080
    https_port: 8443
    metrics_port: 9090
    debug: true
    log_max_size: 30m
    bind_ips: [0.0.0.0]
    version: v0.9.2
    options:
      memory: 512m
""")),
    Case("proxy-custom-certs", {
        **deploy("servers:\n  web: [1.1.1.1, 1.1.1.2]\nproxy:\n  host: a.example.com\n  ssl:\n    certificate_pem: CERT\n"
                 "    private_key_pem: KEY\n"),
    }),
    Case("boot-logging-volumes", deploy("""\
servers: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4]
boot:
  limit: 25%
  wait: 2
  parallel_roles: true
logging:
  driver: json-file
  options:
    max-size: 100m
    max-file: 3
volumes:
  - /data/storage:/rails/storage
  - "logs:/rails/log:ro"
""")),
    Case("env-forms", deploy("""\
servers:
  web:
    - 1.1.1.1: [monitoring]
  workers:
    hosts: [1.1.1.2]
    env:
      clear:
        QUEUE: default
      secret: [WORKER_KEY]
env:
  clear:
    HOST_TOKEN: "${HOST_TOKEN}"
    QUOTED: 'say "hi" $HOME `x`'
    EMPTY: ""
  secret:
    - DB_PASSWORD
    - DB_PASSWORD2:MAIN_DB_PASSWORD
  tags:
    monitoring:
      MONITOR: "1"
    replica:
      clear: {READONLY: "true"}
      secret: [READONLY_PASSWORD]
""")),
    Case("settings", deploy("""\
servers: [1.1.1.1]
labels:
  team: platform
retain_containers: 3
readiness_delay: 4
deploy_timeout: 60
drain_timeout: 10
minimum_version: 2.0.0
run_directory: /etc/kamal
asset_path: /rails/public/assets
error_pages_path: public
hooks_path: bin/hooks
secrets_path: config/secrets
hooks_output: verbose
""")),
    Case("hooks-output-per-hook", deploy("servers: [1.1.1.1]\nhooks_output:\n  pre-deploy: verbose\n  pre-build: quiet\n")),
    Case("aliases", deploy("servers: [1.1.1.1]\naliases:\n  console: app exec -i --reuse \"bin/rails console\"\n"
                           "  shell: app exec -i bash\n")),
    Case("extensions-and-anchors", deploy("""\
x-hosts: &hosts
  - 7.7.7.1
  - 7.7.7.2
x-opts: &opts
  memory: 1g
x-kamalnb:
  notebook: true
servers:
  web:
    hosts: *hosts
    options:
      <<: *opts
      cpus: 2
""")),
    Case("erb", {"config/deploy.yml": """\
service: <%= ENV["SERVICE_NAME"] %>
image: dhh/<%= ENV.fetch("IMAGE_NAME") %>
servers:
  - <%= ENV.fetch("HOST", "9.9.9.9") %>
  - <%= ENV["THIRD_HOST"] || "9.9.9.7" %>
  - <%= ENV.fetch('SECOND_HOST', '9.9.9.8') -%>

registry:
  server: <%= ENV["REGISTRY"] %>registry.example.com
  username: user
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
<%# a comment %>
labels:
  destination-was: "<%= ENV["KAMAL_DESTINATION"] %>"
""", "config/deploy.qa.yml": "env:\n  clear:\n    DEST: <%= ENV['KAMAL_DESTINATION'] %>\n"},
        args=["-d", "qa"], env={"VERSION": "999", "SERVICE_NAME": "erbapp", "IMAGE_NAME": "img", "HOST": "8.8.4.4"}),
    Case("version-option", {"config/deploy.yml": BASE}, args=["--version", "v1.2.3"], env={}),
    Case("version-from-git", {"config/deploy.yml": BASE}, env={}, git=True),
    Case("version-git-clone-ignores-dirty", {"config/deploy.yml": BASE, "untracked-later": ""}, env={}, git=True),
    Case("host-and-role-filters", deploy("servers:\n  web: [1.1.1.1, 1.1.1.2]\n  job: [1.1.1.3]\n"),
         args=["-h", "1.1.1.2,1.1.1.3", "-r", "j*"]),
    Case("primary-filter", deploy("servers:\n  web: [1.1.1.1, 1.1.1.2]\n  job: [1.1.1.3]\n"), args=["-p", "-r", "job"]),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_both(tmp_path_factory.mktemp("golden"), CASES, ["config"])


@requires_kamal
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_config_matches_kamal(case: Case, runs: dict) -> None:
    kamal, ours, _ = runs[case.id]
    assert kamal.returncode == 0, kamal.stdout + kamal.stderr
    assert ours.returncode == 0, ours.stderr
    assert "Traceback" not in ours.stderr
    assert parse_config_output(ours.stdout) == parse_config_output(kamal.stdout)


@requires_kamal
def test_uncommitted_suffix_when_building_the_work_tree(tmp_path: Path) -> None:
    """A dirty tree with `builder.context` set: `<sha>_uncommitted_<16 hex>` (random), as Kamal."""
    case = Case("dirty", deploy("servers: [1.1.1.1]\n", builder="builder:\n  arch: amd64\n  context: .\n"), env={}, git=True)
    kamal, ours, root = run_both(tmp_path, [case], ["config"])["dirty"]
    (root / "dirty.txt").write_text("x")
    from tests.config.conftest import run_kamal, run_kamalnb

    kamal, ours = run_kamal(root, ["config"], {}), run_kamalnb(root, ["config"], {})
    theirs_version = parse_config_output(kamal.stdout)[":version"]
    our_version = parse_config_output(ours.stdout)[":version"]
    sha, _, suffix = our_version.partition("_uncommitted_")
    assert theirs_version.startswith(sha + "_uncommitted_")
    assert len(suffix) == 16 and int(suffix, 16) >= 0


# -- generated combinations ---------------------------------------------------------------

SERVERS = [
    "servers: [10.0.0.1, 10.0.0.2]\n",
    "servers:\n  - 10.0.0.1\n  - 10.0.0.2: [blue]\n",
    "servers:\n  web:\n    - 10.0.0.1\n    - 10.0.0.2: blue\n  workers:\n    hosts: [10.0.0.3]\n    cmd: bin/work\n",
    "primary_role: api\nservers:\n  api: [10.0.0.5]\n  web:\n    hosts: [10.0.0.1]\n    proxy: true\n",
]
REGISTRIES = [
    REGISTRY,
    "registry:\n  username: [HUB_USER]\n  password: [HUB_PASSWORD]\n",
    "registry:\n  server: localhost:5555\n",
]
SSH = ["", "ssh:\n  user: app\n  port: 2200\n", "ssh:\n  proxy: jump.example\n  log_level: info\n",
       "ssh:\n  proxy_command: ssh -W %h:%p gw\n  config: false\n", "ssh:\n  keys: [~/.ssh/k]\n  keys_only: true\n"]
BUILDERS = ["builder:\n  arch: amd64\n", "builder:\n  arch: [arm64, amd64]\n  remote: ssh://root@b\n",
            "builder:\n  arch: arm64\n  driver: docker\n  args: {A: b}\n",
            "builder:\n  arch: amd64\n  cache: {type: gha, options: url=x}\n"]
EXTRAS = [
    "",
    "accessories:\n  cache:\n    image: redis\n    host: 10.0.0.9\n    port: 6379\n",
    "accessories:\n  db:\n    image: pg\n    hosts: [10.0.0.8, 10.0.0.1]\n    options: {memory: 1g}\n",
    "logging:\n  driver: journald\n",
    "logging:\n  options:\n    max-size: 1m\nvolumes: [/a:/b]\n",
    "boot:\n  limit: 1\n  wait: 3\nsshkit:\n  max_concurrent_starts: 2\n",
    "env:\n  A: b\n  C: 1\n",
    "labels:\n  a: b\nretain_containers: 2\n",
]
DESTINATIONS = [
    ({}, []),
    ({"config/deploy.beta.yml": "ssh:\n  user: beta\nvolumes: [/beta:/b]\n"}, ["-d", "beta"]),
    ({"config/deploy.prod.yml": "servers: [10.1.0.1]\nimage: dhh/prod\n"}, ["-d", "prod"]),
]


def _generated(count: int, seed: int = 2026) -> list[Case]:
    import random

    rng = random.Random(seed)
    cases = []
    for index in range(count):
        servers = rng.choice(SERVERS)
        registry = rng.choice(REGISTRIES)
        builder = rng.choice(BUILDERS)
        if "localhost" in registry and "remote" in builder:
            builder = BUILDERS[0]
        body = servers + rng.choice(SSH) + rng.choice(EXTRAS) + rng.choice(EXTRAS)
        files, args = rng.choice(DESTINATIONS)
        yaml_text = "service: gen\n" + ("" if "localhost" in registry else "image: dhh/gen\n") + registry + builder + body
        cases.append(Case(f"generated-{index}", {"config/deploy.yml": yaml_text, **files}, args=list(args),
                          env={"VERSION": f"v{index}"}))
    return cases


GENERATED = _generated(30)


@pytest.fixture(scope="module")
def generated_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_both(tmp_path_factory.mktemp("generated"), GENERATED, ["config"])


@requires_kamal
@pytest.mark.parametrize("case", GENERATED, ids=[case.id for case in GENERATED])
def test_generated_config_matches_kamal(case: Case, generated_runs: dict) -> None:
    kamal, ours, _ = generated_runs[case.id]
    if kamal.returncode != 0:
        assert ours.returncode == 1 and ours.kamalnb_error == kamal.kamal_error
    else:
        assert ours.returncode == 0, ours.stderr
        assert parse_config_output(ours.stdout) == parse_config_output(kamal.stdout)


@requires_kamal
def test_no_version_and_no_git_repository(tmp_path: Path) -> None:
    case = Case("no-git", {"config/deploy.yml": BASE}, env={})
    kamal, ours, root = run_both(tmp_path, [case], ["config"])["no-git"]
    assert kamal.returncode == 1 and ours.returncode == 1
    assert ours.kamalnb_error == kamal.kamal_error == f"Can't use commit hash as version, no git repository found in {root}"
