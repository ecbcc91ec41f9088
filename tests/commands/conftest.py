"""Configurations for the command tests: YAML written to a throwaway project, loaded as kamalnb loads it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kamalnb.config import Configuration, load

LoadConfig = Callable[..., Configuration]


@pytest.fixture
def load_config(tmp_path: Path) -> LoadConfig:
    """`load_config(settings, destination=None, version="999", secrets=None)`: the settings as
    config/deploy.yml (and `.kamal/secrets` lines), loaded with `kamalnb.config.load`."""

    def _load(
        settings: dict[str, Any],
        destination: str | None = None,
        version: str | None = "999",
        secrets: dict[str, str] | None = None,
    ) -> Configuration:
        config_dir = tmp_path / "config"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "deploy.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
        if destination:
            (config_dir / f"deploy.{destination}.yml").write_text("{}\n")
        if secrets:
            secrets_dir = tmp_path / ".kamal"
            secrets_dir.mkdir(exist_ok=True)
            name = f"secrets.{destination}" if destination else "secrets"
            (secrets_dir / name).write_text("".join(f"{key}={value}\n" for key, value in secrets.items()))
        return load("config/deploy.yml", destination, version=version, root=tmp_path, environ={})

    return _load


def _app_settings(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "service": "app",
        "image": "dhh/app",
        "registry": {"username": "dhh", "password": "secret"},
        "servers": {"web": ["1.1.1.1"], "workers": ["1.1.1.2"]},
        "env": {"secret": ["RAILS_MASTER_KEY"]},
        "builder": {"arch": "amd64"},
    }
    settings.update(copy.deepcopy(overrides))
    return settings


def _simple_settings(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "service": "app",
        "image": "dhh/app",
        "registry": {"username": "dhh", "password": "secret"},
        "servers": ["1.1.1.1"],
        "builder": {"arch": "amd64"},
    }
    settings.update(copy.deepcopy(overrides))
    return settings


@pytest.fixture
def app_settings() -> Callable[..., dict[str, Any]]:
    """The configuration of Kamal's test/commands/app_test.rb (roles web and workers), with overrides."""
    return _app_settings


@pytest.fixture
def simple_settings() -> Callable[..., dict[str, Any]]:
    """Kamal's minimal command-test configuration (one server, Docker Hub), with overrides."""
    return _simple_settings
