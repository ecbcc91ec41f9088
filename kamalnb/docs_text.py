"""`kamalnb docs [SECTION]`: the configuration's sections explained, in kamalnb's words,
and `kamalnb upgrade`'s explanation of what kamalnb does with a Kamal 1 fleet."""

from __future__ import annotations

SECTIONS: dict[str, str] = {
    "configuration": """\
# config/deploy.yml: the whole deployment in one file (plus config/deploy.<destination>.yml)
service: myapp                # names containers (<service>-<role>-<version>) and labels them
image: myorg/myapp            # repository the image is pushed to and pulled from
servers: [192.0.2.1]          # hosts, or roles with hosts (see `kamalnb docs servers`)
registry: {...}               # where the image goes (`kamalnb docs registry`)
builder: {arch: amd64}        # how it is built (`kamalnb docs builder`)
env: {...}                    # the containers' environment (`kamalnb docs env`)
proxy: {...}                  # the proxy in front of the web role (`kamalnb docs proxy`)
accessories: {...}            # databases and other long-lived services (`kamalnb docs accessory`)
aliases: {...}                # your own verbs (`kamalnb docs alias`)
ssh: {...}  sshkit: {...}     # how hosts are reached (`kamalnb docs ssh`, `kamalnb docs sshkit`)
boot: {...}                   # rolling boots (`kamalnb docs boot`)
logging: {...}                # Docker log driver (`kamalnb docs logging`)
volumes: ["/data:/data"]      # volumes of every app container
asset_path: /app/public/assets  # assets kept across versions while both serve
retain_containers: 5          # stopped containers kept for rollback (prune)
deploy_timeout: 30            # seconds a new container has to become healthy
drain_timeout: 30             # seconds an old container has to finish its requests
readiness_delay: 7            # seconds a container without proxy must stay up
minimum_version: 2.0.0        # refuse to run with an older Kamal
ERB (<%= ENV["X"] %>) is evaluated before YAML is read. `kamalnb config` shows the result.""",
    "accessory": """\
accessories:
  db:
    image: mysql:8.0          # pulled as given (no build)
    host: 192.0.2.2           # or hosts: [...] or roles: [web]
    port: 3306                # published as host:container
    env: {clear: {...}, secret: [MYSQL_ROOT_PASSWORD]}
    files: [config/my.cnf:/etc/mysql/my.cnf]    # uploaded, mounted
    directories: [data:/var/lib/mysql]          # created under <service>-db/, mounted
    volumes: ["/var/lib/x:/x"]
    options: {restart: always}                  # extra `docker run` options
    cmd: --log-bin
    proxy: {host: db.example.com}               # optional: served through the proxy
Container name: <service>-<accessory>. `setup` boots them; deploys leave them alone.""",
    "alias": """\
aliases:
  console: app exec -i --reuse "bin/rails console"
  shell: app exec -i bash
`kamalnb console` then runs `kamalnb app exec -i --reuse "bin/rails console"`; arguments after
the alias are appended. Names: lower-case letters, digits, `-` and `_`; an alias may not
shadow a kamalnb command.""",
    "boot": """\
boot:
  limit: 10        # boot at most this many hosts at a time (or "25%")
  wait: 2          # seconds between groups
The primary role's hosts boot first; other roles start once every one of them is healthy.""",
    "builder": """\
builder:
  arch: [amd64, arm64]   # required: the hosts' architectures
  dockerfile: Dockerfile
  context: .             # build context (default: a clean git clone of HEAD)
  args: {RUBY_VERSION: 3.3}
  secrets: [GITHUB_TOKEN]
  target: production
  cache: {type: registry}
  remote: ssh://builder@192.0.2.9   # build there for the other architectures
  local: true
  driver: docker-container
The image is tagged <image>:<version> and <image>:latest and labelled service=<service>.""",
    "env": """\
env:
  clear: {RAILS_ENV: production}       # passed as --env
  secret: [DATABASE_PASSWORD]          # from .kamal/secrets, written to the role's env file
  tags: {monitoring: {DD_TAGS: x}}     # per host tag (servers: - 192.0.2.1: monitoring)
A role's `env:` is merged over this one. The env file lives at
.kamal/apps/<service>/env/roles/<role>.env on each host, mode 0600.""",
    "logging": """\
logging:
  driver: json-file
  options: {max-size: 100m}
Passed to `docker run` as --log-driver and --log-opt; a role may override it.""",
    "output": """\
Kamal 2's deploy output (`output:` in deploy.yml) is accepted and ignored by kamalnb, which
shows its own progress: a live table in a notebook, lines on a terminal (-v, -q).""",
    "proxy": """\
proxy:
  host: app.example.com     # or hosts: [...]; requests for them go to the web role
  app_port: 3000            # the port the container listens on (default 80)
  ssl: true                 # certificates from Let's Encrypt
  healthcheck: {path: /up, interval: 1, timeout: 5}
  response_timeout: 30
  path_prefix: /app
  buffering: {requests: true, responses: true}
kamalnb runs Caddy as the proxy (container kamalnb-proxy); a new version takes requests only
once its health check answers 200, and the old one stops after its requests in flight.""",
    "registry": """\
registry:
  server: ghcr.io           # default Docker Hub; `localhost:5555` runs a registry on the laptop
  username: myuser
  password: [KAMAL_REGISTRY_PASSWORD]   # a secret's name, from .kamal/secrets
The hosts log in before pulling; `kamalnb registry login|logout` do it by hand.""",
    "role": """\
servers:
  web:
    hosts: [192.0.2.1, 192.0.2.2]
    cmd: bin/start-web         # overrides the image's command
    env: {...}                 # merged over the top-level env
    labels: {...}
    options: {memory: 2g}      # extra `docker run` options
    proxy: true                # the web role is proxied; other roles are not unless set
    asset_path: /app/public/assets
  workers:
    hosts: [192.0.2.3]
    cmd: bin/jobs
`primary_role` (default web) boots first and holds the deploy lock's host.""",
    "servers": """\
servers: [192.0.2.1, 192.0.2.2]          # the single role `web`
servers:                                   # or roles, each with hosts
  web: [192.0.2.1]
  job: {hosts: [192.0.2.2], cmd: bin/jobs}
A host may carry tags for env (`- 192.0.2.1: [monitoring]`). See `kamalnb docs role`.""",
    "ssh": """\
ssh:
  user: deploy                 # default root
  port: 22
  proxy: bastion.example.com   # jump host (or proxy_command: ...)
  keys: [~/.ssh/deploy_key]
  keys_only: true
  config: true                 # read ~/.ssh/config
  log_level: fatal""",
    "sshkit": """\
sshkit:
  max_concurrent_starts: 30    # handshakes at once
  pool_idle_timeout: 900
  dns_retries: 3
kamalnb keeps one SSH connection per host for a whole step.""",
}

UPGRADE = """\
kamalnb upgrade: Kamal 1 -> Kamal 2

Kamal's `upgrade` replaces Traefik with kamal-proxy on every host, reboots the app into the
`kamal` network and reboots the accessories. kamalnb does not convert a Kamal 1 fleet in place:

  * kamalnb reads only Kamal 2 configuration. A deploy.yml with `traefik:`, `healthcheck:`
    or a `.env` file is refused with the Kamal 2 setting to use instead.
  * On the hosts, kamalnb runs its own proxy (Caddy, container `kamalnb-proxy`) and the
    `kamal` network. A Kamal 1 host already serves ports 80/443 with Traefik, so the proxy
    cannot start there until Traefik is gone.

To move a Kamal 1 fleet to kamalnb:
  1. Convert config/deploy.yml to Kamal 2 (`proxy:` instead of `traefik:`, secrets in
     .kamal/secrets) and check it with `kamalnb config`.
  2. Either run the real `kamal upgrade` (Kamal 2) once, then deploy with kamalnb; or stop and
     remove Traefik on each host (`docker container stop traefik && docker container prune
     --force --filter label=org.opencontainers.image.title=Traefik`), then `kamalnb setup`.
  3. `kamalnb details` then shows the proxy, the app and the accessories on every host.

Accessories started by Kamal 1 keep running outside the `kamal` network; reboot them into it
(Kamal's `accessory reboot NAME`) so the app can reach them by name."""


def docs(section: str | None = None) -> str:
    """The text of one section, or the list of sections."""
    if section is None:
        return "Sections: " + ", ".join(SECTIONS) + "\n\n" + SECTIONS["configuration"]
    key = section.lower().removesuffix("s") if section.lower() not in SECTIONS else section.lower()
    if key not in SECTIONS:
        from kamalnb.errors import ConfigError

        raise ConfigError(f"No documentation for {section!r}: choose one of {', '.join(SECTIONS)}")
    return SECTIONS[key]
