"""App containers of one role on one host: run, stop, find the current version, exec, logs, assets.

Mirrors Kamal's `Kamal::Commands::App`. Random parts of names (the exec container suffix, the
container hostname) are parameters, so the same arguments always give the same command.
Switching traffic belongs to the proxy driver, not here.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from kamalnb.commands import engine
from kamalnb.commands.base import (
    Command,
    Upload,
    argumentize,
    chain,
    combine,
    command,
    container_id_for,
    docker,
    grep_pattern,
    interactive_flag,
    make_directory,
    pipe,
    remove_directory,
    run_over_ssh,
    shell,
    xargs,
)
from kamalnb.commands.engine import EngineRequest
from kamalnb.config.base import NETWORK

ACTIVE_DOCKER_STATUSES = ("running", "restarting")
DOCKER_HEALTH_STATUS_FORMAT = "'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'"
DOCKER_HEALTH_LOG_FORMAT = "'{{json .State.Health}}'"


def container_hostname(host: str, suffix: str) -> str:
    """The `--hostname` Kamal gives app containers: the host cut to 51 characters, one trailing dot
    dropped, then `-<suffix>` (Kamal uses 12 random hex characters)."""
    name = host[:51]
    return f"{name[:-1] if name.endswith('.') else name}-{suffix}"


class App:
    def __init__(self, config: Any, role: Any, host: str | None = None) -> None:
        self.config = config
        self.role = role
        self.host = host

    def container_name(self, version: str | None = None) -> str:
        return self.role.container_name(version)

    # -- lifecycle ------------------------------------------------------------------
    def run(self, hostname: str | None = None) -> Command:
        """`docker run --detach …` of the configured version, with Kamal's arguments in Kamal's order."""
        role, config = self.role, self.config
        container_name = self.container_name()
        return docker(
            "run",
            "--detach",
            "--restart", role.restart_policy,
            "--name", container_name,
            "--network", NETWORK,
            ("--hostname", shlex.quote(hostname)) if hostname else None,
            "--env", f'KAMAL_CONTAINER_NAME="{container_name}"',
            "--env", f'KAMAL_VERSION="{config.version}"',
            "--env", f'KAMAL_HOST="{self.host}"',
            ("--env", f'KAMAL_DESTINATION="{config.destination}"') if config.destination else None,
            role.env_args(self.host),
            role.logging_args,
            config.volume_args,
            self._asset_volume_args(),
            role.label_args,
            role.option_args,
            config.absolute_image,
            role.cmd,
        )

    def start(self) -> Command:
        return docker("start", self.container_name())

    def start_version(self, version: str) -> Command:
        """Start the role's container of `version` again (a revert brings back the one a deploy replaced)."""
        return docker("start", self.container_name(version))

    def status(self, version: str) -> Command:
        """The container's health (`healthy`, `unhealthy`, `starting`) or, without a health check, its state."""
        return pipe(
            self.container_id_for_version(version),
            xargs(docker("inspect", "--format", DOCKER_HEALTH_STATUS_FORMAT)),
        )

    def stop(self, version: str | None = None) -> Command:
        """Stop the given version, or the current one; `-t` as Kamal's `stop_args` decide."""
        source = self.container_id_for_version(version) if version else self.current_running_container_id()
        return pipe(source, xargs(docker("stop", *self.role.stop_args)))

    def engine_stop(self, version: str) -> EngineRequest:
        """`stop(version)` through the engine's API."""
        stop_args = self.role.stop_args
        return engine.stop(self.container_name(version), self.stop(version), stop_args[1] if stop_args else None)

    def info(self) -> Command:
        return docker("ps", self._container_filter_args())

    # -- finding containers and versions ------------------------------------------------
    def current_running_container_id(self) -> Command:
        return self._current_running_container("--quiet")

    def container_id_for_version(self, version: str, only_running: bool = False) -> Command:
        return container_id_for(self.container_name(version), only_running=only_running)

    def current_running_version(self) -> Command:
        """Prints the version of the newest running container of the `latest` image, else of the newest running one."""
        return pipe(self._current_running_container("--format '{{.Names}}'"), self._extract_version_from_name())

    def list_versions(self, *docker_args: str, statuses: Iterable[str] | None = None) -> Command:
        return pipe(
            docker("ps", self._container_filter_args(statuses), docker_args, "--format", '"{{.Names}}"'),
            self._extract_version_from_name(),
        )

    # -- the same reads, asked of the engine's API -----------------------------------------
    def engine_running_version(self) -> EngineRequest:
        """`current_running_version`: the `latest` image's ID, and the role's running containers."""
        return EngineRequest((engine.images([f"reference={self.config.latest_image}"]),
                              engine.containers(self._container_filters(ACTIVE_DOCKER_STATUSES))),
                             self.current_running_version())

    def engine_versions(self) -> EngineRequest:
        """`list_versions`: the role's running containers."""
        return EngineRequest((engine.containers(self._container_filters()),), self.list_versions())

    def engine_container_id(self, version: str) -> EngineRequest:
        """`container_id_for_version`: the container of that name, in any state."""
        name = self.container_name(version)
        return EngineRequest((engine.containers([f"name=^{name}$"], all_states=True),),
                             self.container_id_for_version(version))

    def engine_status(self, version: str) -> EngineRequest:
        """`status`: the container inspected."""
        return EngineRequest((engine.container(self.container_name(version)),), self.status(version))

    def ensure_env_directory(self) -> Command:
        return make_directory(self.role.env_directory)

    def env_file(self) -> Upload:
        """The role's secret env file for this host (tags make it per host), mode 0600, rewritten at every boot."""
        return Upload(self.role.secrets_path, self.role.env(self.host).env_file(), mode=0o600)

    # -- containers ----------------------------------------------------------------------
    def list_containers(self) -> Command:
        return docker("container", "ls", "--all", self._container_filter_args())

    def list_container_names(self) -> Command:
        return command(self.list_containers(), "--format", "'{{ .Names }}'")

    def remove_container(self, version: str) -> Command:
        return pipe(container_id_for(self.container_name(version)), xargs(docker("container", "rm")))

    def rename_container(self, version: str, new_version: str) -> Command:
        return docker("rename", self.container_name(version), self.container_name(new_version))

    def engine_rename_container(self, version: str, new_version: str) -> EngineRequest:
        return engine.rename(self.container_name(version), self.container_name(new_version),
                             self.rename_container(version, new_version))

    def remove_containers(self) -> Command:
        return docker("container", "prune", "--force", self._container_filter_args())

    def container_health_log(self, version: str) -> Command:
        return pipe(
            container_id_for(self.container_name(version)),
            xargs(docker("inspect", "--format", DOCKER_HEALTH_LOG_FORMAT)),
        )

    # -- images --------------------------------------------------------------------------
    def list_images(self) -> Command:
        return docker("image", "ls", self.config.repository)

    def remove_images(self) -> Command:
        return docker(
            "image", "prune", "--all", "--force", argumentize("--filter", [f"label=service={self.config.service}"])
        )

    def tag_latest_image(self) -> Command:
        return docker("tag", self.config.absolute_image, self.config.latest_image)

    def engine_tag_latest_image(self) -> EngineRequest:
        return engine.tag(self.config.absolute_image, self.config.latest_image, self.tag_latest_image())

    # -- exec ----------------------------------------------------------------------------
    def execute_in_existing_container(
        self, *cmd: str, env: Mapping[str, Any], interactive: bool = False, tty: bool = True
    ) -> Command:
        """`docker exec [--env K="v"] <current-name> <cmd>`; `tty` picks `-it` over `-i` when interactive."""
        return docker(
            "exec",
            interactive_flag(tty) if interactive else None,
            argumentize("--env", env),
            self.container_name(),
            cmd,
        )

    def execute_in_new_container(
        self,
        *cmd: str,
        env: Mapping[str, Any],
        suffix: str,
        interactive: bool = False,
        tty: bool = True,
        detach: bool = False,
    ) -> Command:
        """`docker run --rm --name <prefix>-exec-<version>-<suffix> …` (Kamal's suffix: 6 random hex characters)."""
        role = self.role
        return docker(
            "run",
            interactive_flag(tty) if interactive else None,
            "--detach" if detach else "--rm",
            "--name", self.exec_container_name(suffix),
            "--network", NETWORK,
            role.env_args(self.host),
            argumentize("--env", env),
            role.logging_args,
            self.config.volume_args,
            role.option_args,
            self.config.absolute_image,
            cmd,
        )

    def exec_container_name(self, suffix: str) -> str:
        return "-".join((self.role.container_prefix, "exec", self.config.version, suffix))

    def execute_in_existing_container_over_ssh(self, *cmd: str, env: Mapping[str, Any], tty: bool = True) -> Command:
        return run_over_ssh(
            self.config.ssh,
            self._ssh_host(),
            self.execute_in_existing_container(*cmd, env=env, interactive=True, tty=tty),
        )

    def execute_in_new_container_over_ssh(
        self, *cmd: str, env: Mapping[str, Any], suffix: str, tty: bool = True
    ) -> Command:
        return run_over_ssh(
            self.config.ssh,
            self._ssh_host(),
            self.execute_in_new_container(*cmd, env=env, suffix=suffix, interactive=True, tty=tty),
        )

    def _ssh_host(self) -> str:
        if self.host is None:
            raise ValueError("a command over SSH needs the host: build App(config, role, host)")
        return self.host

    # -- logs ----------------------------------------------------------------------------
    def logs(
        self,
        container_id: str | Command | None = None,
        timestamps: bool = True,
        since: str | None = None,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        logs = "xargs docker logs" + (" --timestamps" if timestamps else "")
        logs += f" --since {shlex.quote(since)}" if since else ""
        logs += f" --tail {shlex.quote(str(lines))}" if lines else ""
        return pipe(
            self._container_id_command(container_id),
            f"{logs} 2>&1",
            f"grep {grep_pattern(grep)}" + (f" {grep_options}" if grep_options else "") if grep else None,
        )

    def follow_logs(
        self,
        host: str,
        container_id: str | Command | None = None,
        timestamps: bool = True,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        """`ssh -t … '<logs --follow>'`: run locally, streams until interrupted."""
        logs = "xargs docker logs" + (" --timestamps" if timestamps else "")
        logs += f" --tail {shlex.quote(str(lines))}" if lines else ""
        return run_over_ssh(
            self.config.ssh,
            host,
            pipe(
                self._container_id_command(container_id),
                f"{logs} --follow 2>&1",
                ("grep " + grep_pattern(grep, quote='"') + (f" {grep_options}" if grep_options else "")
                 if grep else None),
            ),
        )

    # -- assets (asset_path, proxied roles only) ---------------------------------------------
    @property
    def asset_container(self) -> str:
        return f"{self.role.container_prefix}-assets"

    def extract_assets(self) -> Command:
        """Copy the image's `asset_path` into `.kamal/apps/<svc_dest>/assets/extracted/<role>-<version>`."""
        extracted = self.role.asset_extracted_directory()
        return combine(
            make_directory(extracted),
            docker("container", "rm", self.asset_container, "2> /dev/null", "|| true"),
            docker("container", "create", "--name", self.asset_container, self.config.absolute_image),
            docker("container", "cp", "-L", f"{self.asset_container}:{self.role.asset_path}/.", extracted),
            docker("container", "rm", self.asset_container),
        )

    def remove_asset_container(self) -> Command:
        """What a failed `extract_assets` leaves behind: the container it created to copy from."""
        return docker("container", "rm", self.asset_container)

    def sync_asset_volumes(self, old_version: str | None = None) -> Command:
        """Fill the new asset volume from both versions' assets, and the old one with the new assets."""
        role = self.role
        new_extracted, new_volume = role.asset_extracted_directory(), role.asset_volume().host_path
        commands = [make_directory(new_volume), self._copy_contents(new_extracted, new_volume)]
        if old_version:
            old_extracted = role.asset_extracted_directory(old_version)
            old_volume = role.asset_volume(old_version).host_path
            commands += [
                self._copy_contents(new_extracted, old_volume, continue_on_error=True),
                self._copy_contents(old_extracted, new_volume, continue_on_error=True),
            ]
        return chain(*commands)

    def clean_up_assets(self) -> Command:
        return chain(
            self._remove_older_siblings(self.role.asset_extracted_directory()),
            self._remove_older_siblings(self.role.asset_volume_directory()),
        )

    # -- directories shared with the proxy ------------------------------------------------
    def create_error_pages_directory(self) -> Command:
        return make_directory(self.config.proxy_boot.error_pages_directory)

    def clean_up_error_pages(self) -> Command:
        """Remove every error-pages version directory except the configured version's."""
        return command(
            "find", self.config.proxy_boot.error_pages_directory, "-mindepth", "1", "-maxdepth", "1",
            "!", "-name", self.config.version, "-exec", "rm", "-rf", "{} +",
        )

    def remove_proxy_app_directory(self) -> Command:
        return remove_directory(self.config.proxy_boot.app_directory)

    def create_ssl_directory(self) -> Command:
        return make_directory(posixpath.join(self.config.proxy_boot.tls_directory, self.role.name))

    # -- internals -----------------------------------------------------------------------
    def _asset_volume_args(self) -> list[str]:
        volume = self.role.asset_volume()
        return volume.docker_args if volume is not None else []

    def _container_filters(self, statuses: Iterable[str] | None = None) -> list[str]:
        filters = [f"label=service={self.config.service}", f"label=destination={self.config.destination or ''}"]
        if self.role is not None:
            filters.append(f"label=role={self.role.name}")
        filters += [f"status={status}" for status in statuses or ()]
        return filters

    def _container_filter_args(self, statuses: Iterable[str] | None = None) -> tuple:
        return argumentize("--filter", self._container_filters(statuses))

    def latest_image_id(self) -> Command:
        return docker(
            "image", "ls", argumentize("--filter", [f"reference={self.config.latest_image}"]), "--format", "'{{.ID}}'"
        )

    def _latest_container(self, format_: str, filters: list[str] | None = None) -> Command:
        return docker(
            "ps", "--latest", format_, self._container_filter_args(ACTIVE_DOCKER_STATUSES),
            argumentize("--filter", filters or []),
        )

    def _current_running_container(self, format_: str) -> Command:
        latest_image_container = self._latest_container(format_, [f"ancestor=$({self.latest_image_id()})"])
        return pipe(shell(chain(latest_image_container, self._latest_container(format_))), command("head", "-1"))

    def _extract_version_from_name(self) -> str:
        return f"while read line; do echo ${{line#{self.role.container_prefix}-}}; done"

    def _container_id_command(self, container_id: str | Command | None) -> Command:
        if isinstance(container_id, Command):
            return container_id
        if container_id:
            return shell(f"echo {container_id}")
        return self.current_running_container_id()

    @staticmethod
    def _copy_contents(source: str, destination: str, continue_on_error: bool = False) -> Command:
        return command("cp", "-rnT", source, destination, "|| true" if continue_on_error else None)

    def _remove_older_siblings(self, path: str) -> Command:
        return command(
            "find", posixpath.dirname(path), "-maxdepth 1", "-name", f"'{self.role.name}-*'",
            "!", "-name", posixpath.basename(path), '-exec rm -rf "{}" +',
        )
