"""`App`: one loaded Kamal project, and every verb as a call on it.

    app = kamalnb.load("config/deploy.yml", destination="staging")
    app                  # in a notebook: roles, hosts and settings (secrets redacted)
    app.deploy()         # live progress, then the report
    app.versions()       # fleet state as a DataFrame

This is the API layer: it calls the steps (`kamalnb.steps`) and the fleet-state tables
(`kamalnb.state`, loaded on first use with pandas); neither of them imports it.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamalnb.config import Configuration, display
from kamalnb.config import load as load_config
from kamalnb.options import Options
from kamalnb.results import Report
from kamalnb.steps import deploy as deploy_steps
from kamalnb.verbs import (
    AccessoriesVerbs,
    AccessoryVerbs,
    AppVerbs,
    BuildVerbs,
    LockVerbs,
    ProxyVerbs,
    RegistryVerbs,
    ServerVerbs,
    run_step,
)

if TYPE_CHECKING:
    import pandas

    from kamalnb.executors.base import Executor
    from kamalnb.executors.settings import SshSettings
    from kamalnb.executors.ssh import SshExecutor

__all__ = ["App", "Fleet", "Options", "fleet", "load"]


class App:
    """A Kamal project: its frozen `config` plus the global options in force."""

    def __init__(self, config: Configuration, options: Options | None = None) -> None:
        self.config = config
        self.options = options or Options()
        self._connection: SshExecutor | None = None
        self._connection_lock = threading.Lock()

    # ---- the deploy verbs ---------------------------------------------------------------

    def setup(self, *, skip_push: bool = False, no_cache: bool = False, **options: Any) -> Report:
        return run_step(self, "setup", lambda c: deploy_steps.setup(c, skip_push=skip_push, no_cache=no_cache),
                        **options)

    def deploy(self, *, version: str | None = None, skip_push: bool = False, no_cache: bool = False,
               **options: Any) -> Report:
        """Build, push, and boot the new version everywhere without dropping a request."""
        return run_step(self._at_version(version), "deploy",
                        lambda c: deploy_steps.deploy(c, skip_push=skip_push, no_cache=no_cache), **options)

    def redeploy(self, *, version: str | None = None, skip_push: bool = False, no_cache: bool = False,
                 **options: Any) -> Report:
        return run_step(self._at_version(version), "redeploy",
                        lambda c: deploy_steps.redeploy(c, skip_push=skip_push, no_cache=no_cache), **options)

    def rollback(self, version: str, **options: Any) -> Report:
        return run_step(self._at_version(version), "rollback", deploy_steps.rollback, **options)

    @property
    def build(self) -> BuildVerbs:
        """`app.build()` builds and pushes; `app.build.pull()`, `.deliver()`, `.dev()`, `.create()`,
        `.remove()`, `.details()` are Kamal's other build verbs."""
        return BuildVerbs(self)

    def pull(self, **options: Any) -> Report:
        return self.build.pull(**options)

    # ---- the other top-level verbs ------------------------------------------------------

    def details(self, **options: Any) -> Any:
        """The proxy, the app and the accessories on each host (Kamal's `details`).
        Columns: host, kind (proxy/app/accessory), role, then `docker ps`'s, error."""
        from kamalnb.listing import Listing

        result = self.details_listing(**options)
        return result.to_frame() if isinstance(result, Listing) else result

    def details_listing(self, **options: Any) -> Any:
        """`details` as Kamal prints it: a `Listing` of blocks per host."""
        from kamalnb.steps import main_ops

        options.setdefault("ui", "silent")
        return run_step(self, "details", main_ops.details, **options)

    def remove(self, *, confirm: bool = False, **options: Any) -> Report:
        """Remove everything of this service from its hosts: containers, images, env files,
        assets, accessories, the proxy routes (the proxy itself only where no other app is
        installed), the lock and the audit log. Needs `confirm=True` (or `plan=True`)."""
        from kamalnb.errors import ConfigError
        from kamalnb.steps import main_ops

        if not confirm and not options.get("plan"):
            raise ConfigError(f"remove deletes every container, image and file of {self.config.service} "
                              "on its hosts: call remove(confirm=True) to proceed")
        return run_step(self, "remove", main_ops.remove, **options)

    def prune(self, scope: str = "all", *, retain: int | None = None, **options: Any) -> Report:
        """`prune all|containers|images`: stopped containers beyond the newest `retain`
        (default `retain_containers`, 5), then images no container of the service uses."""
        from kamalnb.errors import ConfigError
        from kamalnb.steps import main_ops

        if scope not in main_ops.PRUNE_SCOPES:
            raise ConfigError(f"prune {scope!r}: choose one of {', '.join(main_ops.PRUNE_SCOPES)}")
        return run_step(self, "prune", lambda c: main_ops.prune(c, scope, retain=retain), subcommand=scope,
                        **options)

    @property
    def lock(self) -> LockVerbs:
        return LockVerbs(self)

    @property
    def proxy(self) -> ProxyVerbs:
        return ProxyVerbs(self)

    @property
    def app(self) -> AppVerbs:
        return AppVerbs(self)

    @property
    def server(self) -> ServerVerbs:
        return ServerVerbs(self)

    @property
    def registry(self) -> RegistryVerbs:
        return RegistryVerbs(self)

    def accessory(self, name: str) -> AccessoryVerbs:
        """One accessory's verbs: `app.accessory("redis").boot()`, `.reboot()`, `.exec(...)`..."""
        return AccessoryVerbs(self, name)

    @property
    def accessories(self) -> AccessoriesVerbs:
        """`app.accessories()`: a table of every accessory on its hosts; `app.accessories.boot()`
        (and every other accessory verb) for all of them."""
        return AccessoriesVerbs(self)

    def _at_version(self, version: str | None) -> App:
        if not version:
            return self
        return App(self.config.with_version(version), self.options)

    # ---- fleet state: read-only tables, on connections kept open across calls ------------

    def hosts(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Each host: roles, reachable, Docker version, containers running, disk free."""
        from kamalnb import state

        return state.hosts(self, executor or self.connection())

    def containers(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Every container of this service: host, role, version, state, health, created, image."""
        from kamalnb import state

        return state.containers(self, executor or self.connection())

    def versions(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Which version serves where; `mixed` marks hosts that differ from the rest."""
        from kamalnb import state

        return state.versions(self, executor or self.connection())

    def images(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        from kamalnb import state

        return state.images(self, executor or self.connection())

    def rollback_versions(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """The versions whose containers are still on the hosts, newest first, and whether a
        rollback can go to each (a container of it for every role on every host)."""
        from kamalnb import state

        return state.rollback_versions(self, executor or self.connection())

    def drift(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """What runs that the configuration does not know, and what it expects but is missing."""
        from kamalnb import state

        return state.drift(self, executor or self.connection())

    def audit(self, lines: int = 50, *, executor: Executor | None = None) -> pandas.DataFrame:
        """The audit log lines of every host, merged in time order."""
        from kamalnb import state

        return state.audit(self, executor or self.connection(), lines)

    def fleet(self) -> Fleet:
        """Every Docker container, image and engine on this project's hosts, whoever started
        them (`Fleet`), reached with the project's `ssh:` settings."""
        from kamalnb.executors.settings import settings_from_config

        return Fleet(self.config.specifics.hosts, settings=settings_from_config(self.config))

    def connection(self) -> Executor:
        """The SSH executor the fleet-state tables share (opened once, reused)."""
        return self.ssh()

    def ssh(self) -> SshExecutor:
        """The app's SSH connections to its hosts, opened once on first use and kept until
        `close()`: the fleet-state tables and every step (deploy, rollback...) share them."""
        with self._connection_lock:
            if self._connection is None:
                from kamalnb.executors.ssh import SshExecutor

                self._connection = SshExecutor.from_config(self.config)
            return self._connection

    def close(self) -> None:
        """Close the app's connections to its hosts (the tables' and its steps')."""
        with self._connection_lock:
            executor, self._connection = self._connection, None
        if executor is not None:
            executor.close()

    # ---- display --------------------------------------------------------------------------

    def __repr__(self) -> str:
        return display.text(self.config, f"App {self.config.service_and_destination}")

    def _repr_html_(self) -> str:
        return display.html_table(self.config, f"App {self.config.service_and_destination}")


class Fleet:
    """Hosts without a deploy.yml: every Docker engine, container and image on them, whoever
    started them (a fleet you did not deploy from here, or everything beside an app).
    Containers Kamal started show their `service`, `role`, `destination` and version.

        fleet = kamalnb.fleet(["10.0.0.1", "10.0.0.2"], user="deploy")
        fleet.hosts(); fleet.containers(); fleet.versions(); fleet.images()

    The tables share one SSH connection per host, opened on first use; `close()` ends them.
    `settings` (an `SshSettings`, as `App.fleet()` passes its project's) replaces `user`,
    `ssh_config`, `port` and `keys`.
    """

    def __init__(self, hosts: Sequence[str], *, user: str | None = "root",
                 ssh_config: str | os.PathLike[str] | bool | None = None, port: int | None = None,
                 keys: Sequence[str | os.PathLike[str]] = (), settings: SshSettings | None = None) -> None:
        from kamalnb.errors import ConfigError

        if isinstance(hosts, str):
            hosts = [hosts]
        self.host_names = list(dict.fromkeys(str(host) for host in hosts))
        if not self.host_names:
            raise ConfigError("a fleet needs at least one host")
        self.user = user
        self.ssh_config = ssh_config
        self.port = port
        self.keys = tuple(str(key) for key in keys)
        self.settings = settings
        self._connection: Executor | None = None
        self._connection_lock = threading.Lock()

    def hosts(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Each host's Docker engine and disk use: containers, images and their size, space left."""
        from kamalnb.state import fleet

        return fleet.hosts(self.host_names, executor or self.connection())

    def containers(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Every container, any state, with Kamal's labels where it has them."""
        from kamalnb.state import fleet

        return fleet.containers(self.host_names, executor or self.connection())

    def versions(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Which version of each Kamal app (by its labels) runs where."""
        from kamalnb.state import fleet

        return fleet.versions(self.host_names, executor or self.connection())

    def images(self, *, executor: Executor | None = None) -> pandas.DataFrame:
        """Every image, newest first, with how many containers use it."""
        from kamalnb.state import fleet

        return fleet.images(self.host_names, executor or self.connection())

    def connection(self) -> Executor:
        """The SSH executor the tables share (opened once, reused)."""
        with self._connection_lock:
            if self._connection is None:
                from kamalnb.executors.settings import SshSettings
                from kamalnb.executors.ssh import SshExecutor

                self._connection = SshExecutor(self.settings or SshSettings(
                    user=self.user, port=self.port, keys=self.keys, config=self._config_setting()))
            return self._connection

    def _config_setting(self) -> bool | str:
        if self.ssh_config is None or isinstance(self.ssh_config, bool):
            return self.ssh_config is not False
        return os.fspath(self.ssh_config)

    def close(self) -> None:
        """Close the connections the tables opened."""
        with self._connection_lock:
            executor, self._connection = self._connection, None
        if executor is not None:
            executor.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        setting = self.settings.config if self.settings else self._config_setting()
        via = f", ssh config {setting}" if isinstance(setting, str) else ""
        user = self.settings.user if self.settings else self.user
        return f"Fleet of {len(self.host_names)} hosts ({', '.join(self.host_names)}) as {user or 'root'}{via}"


def fleet(hosts: Sequence[str], *, user: str | None = "root", ssh_config: str | os.PathLike[str] | bool | None = None,
          port: int | None = None, keys: Sequence[str | os.PathLike[str]] = ()) -> Fleet:
    """A fleet of SSH hosts with no deploy.yml: `kamalnb.fleet(["10.0.0.1"], user="root").containers()`.

    `ssh_config`: None or True reads ~/.ssh/config (Kamal's default), a path reads that
    file, False none; `user` and `port` override it, `keys` are private key files to offer.
    Nothing is contacted until a table is read."""
    return Fleet(hosts, user=user, ssh_config=ssh_config, port=port, keys=keys)


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
    `-q`, `-H`). `root` is the project directory (secrets, hooks); by default the directory
    holding `config/` when the file is in one, so a notebook in a sub-directory can load
    `"../config/deploy.yml"`, else the current directory. Raises ConfigError; warns
    (UserWarning) about a leftover Kamal 1 `.env`.
    """
    if root is None:
        path = Path(os.path.abspath(path))
        root = path.parent.parent if path.parent.name == "config" else Path.cwd()
    config = load_config(
        path, destination, version=version, hosts=hosts, roles=roles, primary=primary, root=root, environ=environ,
    )
    for message in config.warnings:
        warnings.warn(message, UserWarning, stacklevel=2)
    return App(config, Options(verbose=verbose, quiet=quiet, skip_hooks=skip_hooks))
