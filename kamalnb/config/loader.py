"""Reading deploy.yml and deploy.<destination>.yml into one validated Configuration."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from kamalnb.config import erb
from kamalnb.config.configuration import Configuration
from kamalnb.config.ruby import deep_merge
from kamalnb.errors import ConfigError

# Kamal 1 settings that Kamal 2 rejects as unknown keys, and what took their place.
KAMAL1_REPLACEMENTS = {
    "traefik": "Kamal 2 replaced Traefik with a proxy configured under `proxy:` "
               "(host, app_port, ssl, healthcheck); remove `traefik:`",
    "healthcheck": "Kamal 2 removed the top-level healthcheck: use `proxy: healthcheck: {path:, interval:, timeout:}` "
                   "for proxied roles, and `readiness_delay` or a Docker `health-cmd` option for the others",
    "stop_wait_time": "Kamal 2 replaced `stop_wait_time` with `drain_timeout`",
}


def destination_config_file(config_file: Path, destination: str) -> Path:
    """`config/deploy.yml` + `staging` -> `config/deploy.staging.yml` (Ruby's `sub_ext`)."""
    return config_file.with_name(f"{config_file.stem}.{destination}.yml") if config_file.suffix else \
        config_file.with_name(f"{config_file.name}.{destination}.yml")


class _Loader(yaml.SafeLoader):
    """YAML as Ruby's Psych reads a deploy.yml (anchors, aliases and merge keys allowed)."""


def _read(file: Path, environ: Mapping[str, str], shown: str, destination_file: bool = False) -> dict[Any, Any]:
    if not file.is_file():
        raise ConfigError(f"Configuration file not found in {file}")
    try:
        template = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{shown}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    rendered = erb.render(template, environ, shown)
    try:
        data = yaml.load(rendered, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        if not destination_file:
            raise ConfigError(f"{shown} is empty: it needs at least service, image, servers, registry and builder "
                              "(`kamalnb init` writes a starting point)")
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: should be a hash of settings (found {type(data).__name__})")
    return dict(data)


def _shown(file: Path, root: Path) -> str:
    try:
        return str(file.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(file)


def load_raw_config(config_file: Path, destination: str | None, environ: Mapping[str, str],
                    root: Path) -> dict[str, Any]:
    files = [config_file]
    if destination:
        files.append(destination_config_file(config_file, destination))
    raw: dict[str, Any] = {}
    for index, file in enumerate(files):
        raw = deep_merge(raw, _read(file, environ, _shown(file, root), destination_file=index > 0))
    return raw


def _kamal1_hints(raw: Mapping[str, Any]) -> list[str]:
    return [f"`{key}`: {hint}" for key, hint in KAMAL1_REPLACEMENTS.items() if key in raw]


def _legacy_env_warnings(root: Path, config_dir: Path, destination: str | None) -> list[str]:
    names = [".env"] + ([f".env.{destination}"] if destination else [])
    found: list[str] = []
    for directory in dict.fromkeys([root, config_dir]):
        found += [_shown(directory / name, root) for name in names if (directory / name).is_file()]
    return [
        f"Found {name}: Kamal 2 no longer reads it (Kamal 1 did). Put secrets in .kamal/secrets "
        f"(dotenv syntax; `NAME=$NAME` passes one through from your environment) and list them under `env: secret:`."
        for name in found
    ]


def load(
    path: str | os.PathLike[str] = "config/deploy.yml",
    destination: str | None = None,
    *,
    version: str | None = None,
    hosts: str | Sequence[str] | None = None,
    roles: str | Sequence[str] | None = None,
    primary: bool = False,
    root: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Configuration:
    """Load, merge and validate a Kamal configuration.

    `path` is the base file (`-c`), `destination` adds `deploy.<destination>.yml` (`-d`);
    `version`, `hosts`, `roles` and `primary` are Kamal's `--version`, `-h`, `-r` and `-p`
    (`hosts`/`roles` as comma lists or sequences, wildcards allowed). Relative paths in the
    configuration (secrets, hooks) are relative to `root`, the current directory by default,
    as in Kamal. Raises ConfigError with Kamal's message when anything is wrong.
    """
    root_path = Path(root) if root is not None else Path.cwd()
    config_file = Path(path)
    if not config_file.is_absolute():
        config_file = root_path / config_file
    env = dict(os.environ if environ is None else environ)
    # Kamal exposes the destination to ERB through the environment.
    if destination:
        env["KAMAL_DESTINATION"] = destination
    else:
        env.pop("KAMAL_DESTINATION", None)
    raw = load_raw_config(config_file, destination, env, root_path)
    try:
        return Configuration(
            raw, destination, version, root=root_path, environ=env, specific_hosts=hosts, specific_roles=roles,
            primary=primary, config_file=str(config_file),
            warnings=_legacy_env_warnings(root_path, config_file.parent, destination),
        )
    except ConfigError as error:
        hints = _kamal1_hints(raw)
        if hints and str(error).startswith("unknown key"):
            raise ConfigError(f"{error} ({'; '.join(hints)})") from None
        raise
