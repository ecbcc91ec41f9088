"""A configuration as a readable table (text and HTML): roles, hosts and main settings.

Built from the configuration only, so showing it never reads secrets or runs a command;
secret settings show their names, never values.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from kamalnb.config.ssh import SshJump, SshProxyCommand
from kamalnb.errors import ConfigError

if TYPE_CHECKING:
    from kamalnb.config.configuration import Configuration

HEADER = ("role", "hosts", "proxy", "")


def role_rows(config: Configuration) -> list[tuple[str, str, str, str]]:
    """One row per selected role (hosts filtered by -h/-r/-p), then one per accessory."""
    selected = set(config.specifics.hosts)
    rows = []
    for role in config.specifics.roles or config.roles:
        hosts = ", ".join(host for host in role.hosts if host in selected) or "(none)"
        rows.append((role.name, hosts, "yes" if role.running_proxy else "no", "primary" if role.primary else ""))
    for accessory in config.accessories:
        rows.append((f"{accessory.name} (accessory)", ", ".join(accessory.hosts) or "(none)",
                     "yes" if accessory.running_proxy else "no", accessory.image))
    return rows


def _login(value: object) -> str:
    if isinstance(value, list):
        return f"secret {value[0]}" if value else ""
    return "" if value is None else str(value)


def settings(config: Configuration) -> list[tuple[str, str]]:
    ssh = config.ssh
    jump = ssh.proxy
    via = jump.jump_proxies if isinstance(jump, SshJump) else (
        jump.command_line_template if isinstance(jump, SshProxyCommand) else "")
    try:
        image = config.absolute_image
    except ConfigError as error:  # no version yet (no git repository): shown, not raised
        image = f"{config.repository}:<{error}>"
    registry = config.registry.registry_config
    login = " / ".join(part for part in (_login(registry.get("username")), _login(registry.get("password"))) if part)
    builder = config.builder
    rows = [
        ("service", config.service_and_destination),
        ("image", image),
        ("registry", (config.registry.server or "Docker Hub") + (f" ({login})" if login else "")),
        ("primary host", config.specifics.primary_host or ""),
        ("ssh", f"{ssh.user}@<host>:{ssh.port}" + (f" via {via}" if via else "")),
        ("builder", ", ".join(builder.arches) + (f" (remote {builder.remote})" if builder.remote else "")),
        ("timeouts", f"deploy {config.deploy_timeout}s, drain {config.drain_timeout}s, "
                     f"readiness {config.readiness_delay}s"),
        ("env", ", ".join([*config.env.clear, *(f"{name} (secret)" for name in config.env.secret_names)])),
    ]
    if config.proxy.hosts:
        rows.append(("proxy hosts", ", ".join(config.proxy.hosts)))
    if config.kamalnb:
        rows.append(("x-kamalnb", ", ".join(f"{key}={value}" for key, value in config.kamalnb.items())))
    return rows


def text(config: Configuration, title: str) -> str:
    lines = [title]
    rows = [HEADER, *role_rows(config)]
    widths = [max(len(row[index]) for row in rows) for index in range(len(HEADER))]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    lines += [f"  {name}: {value}" for name, value in settings(config)]
    lines += [f"  warning: {warning}" for warning in config.warnings]
    return "\n".join(lines)


def html_table(config: Configuration, title: str) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(cell)}</th>" for cell in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in role_rows(config))
    rows = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in settings(config))
    notes = "".join(f"<p style='color:#b45309'>{esc(w)}</p>" for w in config.warnings)
    return (f"<div><strong>{esc(title)}</strong><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<table>{rows}</table>{notes}</div>")
