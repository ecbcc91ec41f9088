"""The sample app's directory: a git repository with a Dockerfile and a Kamal deploy.yml
pointing at the sandbox's hosts, registry and ssh_config."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamalnb.sandbox.system import run

if TYPE_CHECKING:
    from kamalnb.sandbox.fleet import Sandbox

ASSETS = Path(__file__).parent / "assets" / "app"
SERVICE = "sample"
GIT_IDENTITY = ["-c", "user.name=kamalnb sandbox", "-c", "user.email=sandbox@kamalnb.invalid"]


def deploy_yml(sandbox: Sandbox) -> str:
    hosts = [h.address for h in sandbox.hosts]
    web = "\n".join(f"      - {address}" for address in hosts)
    return f"""\
# The sandbox's sample app, deployed to the sandbox's hosts. Kamal reads this file as is.
service: {SERVICE}
image: sample/app

servers:
  web:
    hosts:
{web}
  worker:
    hosts:
      - {hosts[0]}
    cmd: /app/worker.sh
    proxy: false

registry:
  server: {sandbox.registry}
  username: sandbox
  password:
    - KAMAL_REGISTRY_PASSWORD

builder:
  arch: amd64
  args:
    BASE_IMAGE: {sandbox.base_image}

env:
  clear:
    REDIS_HOST: {SERVICE}-redis

# Fingerprinted assets of the running and the new version both answer during a deploy.
asset_path: /www/assets:ro

# The visit counter's store (/cgi-bin/count): beside the app on every web host, reached
# by its container name on the host's `kamal` network; its data in a named volume.
accessories:
  redis:
    image: {sandbox.redis_image}
    roles:
      - web
    volumes:
      - {SERVICE}-redis-data:/data

proxy:
  app_port: 80
  healthcheck:
    path: /up
    interval: 1
    timeout: 2

ssh:
  user: {sandbox.user}
  keys_only: true
  keys:
    - {sandbox.ssh_key}
  config: {sandbox.ssh_config}

# Short timeouts so that tests and demos never wait for Kamal's defaults.
deploy_timeout: 10
drain_timeout: 2
readiness_delay: 0
retain_containers: 3

x-kamalnb:
  proxy:
    image: {sandbox.proxy_image}
  docker_host: {sandbox.laptop_docker_host}
"""


@contextmanager
def config_edited(app_dir: Path, change: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """deploy.yml changed by `change` (of its parsed YAML) and left uncommitted, so that the
    version stays the one deployed; restored afterwards."""
    import yaml

    path = app_dir / "config" / "deploy.yml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        yield
    finally:
        _git(app_dir, "checkout", "-q", "config/deploy.yml")


def _git(app_dir: Path, *args: str) -> str:
    return run(["git", *GIT_IDENTITY, *args], cwd=app_dir).stdout.strip()


def write_asset(app_dir: Path, note: str) -> str:
    """Replace the app's stylesheet with a fingerprinted one; only the newest ships."""
    assets = app_dir / "public" / "assets"
    shutil.rmtree(assets, ignore_errors=True)
    assets.mkdir(parents=True)
    body = f"/* {note} */\nbody {{ font-family: sans-serif; }}\n"
    name = f"app-{hashlib.sha256(body.encode()).hexdigest()[:12]}.css"
    (assets / name).write_text(body)
    return name


def ensure(sandbox: Sandbox) -> Path:
    """Create the app's repository once; later calls refresh the files the sandbox owns
    (scripts, Dockerfile, deploy.yml) and keep the app's history and assets."""
    app_dir = sandbox.app_dir
    shutil.copytree(ASSETS, app_dir, dirs_exist_ok=True)
    if not (app_dir / ".git").is_dir():
        write_asset(app_dir, "first version")
        (app_dir / ".kamal" / "hooks").mkdir(parents=True, exist_ok=True)
        (app_dir / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=sandbox\n")
        (app_dir / ".gitignore").write_text(".kamal/secrets*\n")
        run(["git", "init", "-q", "-b", "main"], cwd=app_dir)
    (app_dir / "config").mkdir(exist_ok=True)
    (app_dir / "config" / "deploy.yml").write_text(deploy_yml(sandbox))
    _git(app_dir, "add", "-A")
    if _git(app_dir, "status", "--porcelain"):
        _git(app_dir, "commit", "-q", "-m", "Sample app for the sandbox")
    return app_dir


def new_version(app_dir: Path | str, note: str | None = None) -> str:
    """Commit a change to the app (a new fingerprinted asset); the new version (git sha)."""
    app_dir = Path(app_dir)
    # The time makes every version differ, even with the same note.
    write_asset(app_dir, f"{note or 'new version'} at {time.time_ns()}")
    _git(app_dir, "add", "-A")
    _git(app_dir, "commit", "-q", "-m", note or "New version of the sample app")
    return _git(app_dir, "rev-parse", "HEAD")


def build(sandbox: Sandbox, tag: str, *, start_delay: float = 0, never_healthy: bool = False) -> str:
    """Build a variant of the app on the laptop engine and push it; its image reference.

    For tests of the sandbox itself: kamalnb's own build step is what deploys use.
    """
    image = f"{sandbox.registry}/sample/app:{tag}"
    sandbox.laptop_docker(
        "build", "-q", "-t", image,
        "--build-arg", f"BASE_IMAGE={sandbox.base_image}",
        "--build-arg", f"START_DELAY={start_delay}",
        "--build-arg", f"NEVER_HEALTHY={int(never_healthy)}",
        str(sandbox.app_dir),
    )
    sandbox.laptop_docker("push", "-q", image)
    return image
