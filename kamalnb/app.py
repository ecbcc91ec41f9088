"""`App`: one loaded Kamal project, the handle every step hangs off.

    app = kamalnb.load("config/deploy.yml", destination="staging")
    app                  # in a notebook: roles, hosts and settings (secrets redacted)
    app.config.role("web").container_name()
"""

from __future__ import annotations

import html
import os
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

from kamalnb.config import Configuration
from kamalnb.config import load as load_config
from kamalnb.config.ssh import SshJump, SshProxyCommand
from kamalnb.errors import ConfigError
from kamalnb.steps.api import Steps


@dataclass(frozen=True)
class Options:
    """Kamal's global options, as given to `kamalnb.load()` or on the command line."""

    verbose: bool = False
    quiet: bool = False
    skip_hooks: bool = False


class App(Steps):
    """A Kamal project: its frozen `config` plus the global options in force."""

    def __init__(self, config: Configuration, options: Options | None = None) -> None:
        self.config = config
        self.options = options or Options()

    # -- display ------------------------------------------------------------------
    def _role_rows(self) -> list[tuple[str, str, str, str]]:
        selected = set(self.config.specifics.hosts)
        rows = []
        for role in self.config.specifics.roles or self.config.roles:
            hosts = ", ".join(host for host in role.hosts if host in selected) or "(none)"
            proxy = "yes" if role.running_proxy else "no"
            flags = "primary" if role.primary else ""
            rows.append((role.name, hosts, proxy, flags))
        for accessory in self.config.accessories:
            hosts = ", ".join(accessory.hosts) or "(none)"
            rows.append((f"{accessory.name} (accessory)", hosts, "yes" if accessory.running_proxy else "no", accessory.image))
        return rows

    def _settings(self) -> list[tuple[str, str]]:
        config = self.config
        ssh = config.ssh
        jump = ssh.proxy
        via = jump.jump_proxies if isinstance(jump, SshJump) else (
            jump.command_line_template if isinstance(jump, SshProxyCommand) else "")
        try:
            image = config.absolute_image
        except ConfigError as error:  # no version yet (no git repository): shown, not raised
            image = f"{config.repository}:<{error}>"
        registry = config.registry
        user = registry.username
        login = f"{user} / [REDACTED]" if registry.registry_config.get("password") is not None else ""
        settings = [
            ("service", config.service_and_destination),
            ("image", image),
            ("registry", f"{registry.server or 'Docker Hub'}" + (f" ({login})" if login else "")),
            ("primary host", config.specifics.primary_host or ""),
            ("ssh", f"{ssh.user}@host:{ssh.port}" + (f" via {via}" if via else "")),
            ("builder", ", ".join(config.builder.arches) + (f" (remote {config.builder.remote})" if config.builder.remote else "")),
            ("timeouts", f"deploy {config.deploy_timeout}s, drain {config.drain_timeout}s, readiness {config.readiness_delay}s"),
            ("env", ", ".join([*config.env.clear, *(f"{k} (secret)" for k in config.env.secret_names)]) or ""),
        ]
        if config.proxy.hosts:
            settings.append(("proxy hosts", ", ".join(config.proxy.hosts)))
        if config.kamalnb:
            settings.append(("x-kamalnb", ", ".join(f"{key}={value}" for key, value in config.kamalnb.items())))
        return settings

    def __repr__(self) -> str:
        lines = [f"App {self.config.service_and_destination}"]
        rows = [("role", "hosts", "proxy", ""), *self._role_rows()]
        widths = [max(len(row[index]) for row in rows) for index in range(4)]
        for row in rows:
            lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        for name, value in self._settings():
            lines.append(f"  {name}: {value}")
        for warning in self.config.warnings:
            lines.append(f"  warning: {warning}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        role_rows = "".join(
            "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in self._role_rows()
        )
        settings = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self._settings())
        warning_html = "".join(f"<p style='color:#b45309'>{esc(w)}</p>" for w in self.config.warnings)
        return (
            f"<div><strong>App {esc(self.config.service_and_destination)}</strong>"
            "<table><thead><tr><th>role</th><th>hosts</th><th>proxy</th><th></th></tr></thead>"
            f"<tbody>{role_rows}</tbody></table>"
            f"<table>{settings}</table>{warning_html}</div>"
        )


def load(
    path: str | os.PathLike[str] = "config/deploy.yml",
    destination: str | None = None,
    *,
    version: str | None = None,
    hosts: str | Sequence[str] | None = None,
    roles: str | Sequence[str] | None = None,
    primary: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    skip_hooks: bool = False,
    root: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> App:
    """Load a Kamal project: `kamalnb.load("config/deploy.yml", "staging", roles="web")`.

    The keyword arguments are Kamal's global options (`--version`, `-h`, `-r`, `-p`, `-v`,
    `-q`, `-H`). Raises ConfigError; warns (UserWarning) about a leftover Kamal 1 `.env`.
    """
    config = load_config(
        path, destination, version=version, hosts=hosts, roles=roles, primary=primary, root=root, environ=environ,
    )
    for message in config.warnings:
        warnings.warn(message, UserWarning, stacklevel=2)
    return App(config, Options(verbose=verbose, quiet=quiet, skip_hooks=skip_hooks))
