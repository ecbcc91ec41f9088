"""A clone of the sandbox's sample app per test module, so deploys here never touch the
sandbox's own copy, plus helpers to read what every host serves."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

import kamalnb
from kamalnb.sandbox import Sandbox, sample_app

GIT = ["git", "-c", "user.name=Test Deployer", "-c", "user.email=deployer@example.test"]


class SampleApp:
    def __init__(self, sandbox: Sandbox, path: Path) -> None:
        self.sandbox = sandbox
        self.path = path

    def load(self, **options) -> kamalnb.App:
        return kamalnb.load(self.path / "config" / "deploy.yml", root=self.path, **options)

    def commit(self, note: str) -> str:
        return sample_app.new_version(self.path, note)

    def edit_config(self, change) -> str:
        """Change deploy.yml (a function of its parsed YAML) and commit; the new version."""
        path = self.path / "config" / "deploy.yml"
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return self.commit("config change")

    def git(self, *args: str) -> str:
        return subprocess.run([*GIT, *args], cwd=self.path, capture_output=True, text=True, check=True).stdout.strip()

    def serving(self) -> dict[str, str]:
        """What `/version` answers on each web host."""
        answers = {}
        for host in self.sandbox.hosts:
            try:
                with urllib.request.urlopen(f"http://{host.address}/version", timeout=3) as response:
                    answers[host.address] = response.read().decode().strip()
            except OSError as error:
                answers[host.address] = f"error: {error}"
        return answers


def offline_project(root: Path, deploy_yml: str, secrets: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project (deploy.yml, secrets, a Dockerfile, one git commit) for plan mode, where
    any attempt to open an SSH connection fails the test."""
    from kamalnb.executors import ssh as ssh_module

    (root / "config").mkdir()
    (root / "config" / "deploy.yml").write_text(deploy_yml)
    (root / ".kamal").mkdir()
    (root / ".kamal" / "secrets").write_text(secrets)
    (root / "Dockerfile").write_text("FROM scratch\n")
    git = ["git", "-c", "user.name=A", "-c", "user.email=a@example.test"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=root, check=True)

    def no_connection(*args, **kwargs):
        raise AssertionError("plan mode must not open an SSH connection")

    monkeypatch.setattr(ssh_module.SshExecutor, "__init__", no_connection)
    return root


def remove_sample_deploys(path: Path, sandbox: Sandbox) -> None:
    """No container, proxy or Kamal state of the sample app left on the fleet."""
    from kamalnb.commands.base import Command
    from kamalnb.executors import SshExecutor

    app = kamalnb.load(path / "config" / "deploy.yml", root=path)
    with SshExecutor.from_config(app.config) as executor:
        for host in sandbox.hosts:
            executor.run(host.address, Command(
                ("docker ps -aq --filter label=service=sample | xargs -r docker rm -f >/dev/null;",
                 "docker rm -f kamalnb-proxy >/dev/null 2>&1;", "docker volume rm -f kamalnb-proxy-config >/dev/null;",
                 # Accessories: their containers, named volumes and service directories.
                 "docker ps -a --filter label=service --format '{{.ID}} {{.Label \"service\"}}'",
                 "| awk '$2 ~ /^sample-/ {print $1}' | xargs -r docker rm -f >/dev/null;",
                 "docker volume ls -q | grep '^sample-' | xargs -r docker volume rm -f >/dev/null;",
                 "rm -rf sample-*;",
                 "rm -rf .kamal")), check=False)


@pytest.fixture(scope="module")
def sample(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> SampleApp:
    path = tmp_path_factory.mktemp("app") / "sample"
    subprocess.run([*GIT, "clone", "-q", str(sandbox.app_dir), str(path)], check=True)
    (path / ".kamal" / "hooks").mkdir(parents=True, exist_ok=True)
    (path / ".kamal" / "secrets").write_text((sandbox.app_dir / ".kamal" / "secrets").read_text())
    remove_sample_deploys(path, sandbox)
    yield SampleApp(sandbox, path)
    remove_sample_deploys(path, sandbox)
