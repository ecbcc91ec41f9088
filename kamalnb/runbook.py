"""What every runbook notebook settles before its first step: which project, which versions,
and whether it runs against hosts or in plan mode. Kept here so that a runbook's cells hold
only the steps a reader follows."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamalnb.errors import ConfigError, HostError, HostsFailed, SandboxError

if TYPE_CHECKING:
    import pandas

    from kamalnb.app import App, Fleet
    from kamalnb.sandbox import Sandbox

EXAMPLE = Path("examples") / "hey"
PLAN_OFF = ("0", "false", "no", "off")
MIN_DISK_FREE = 2 * 2**30


@dataclass(frozen=True)
class Runbook:
    """A runbook's resolved parameters. `plan` is True when nothing may be contacted.
    `config_path` is None for a fleet inspected from its `hosts` alone (no deploy.yml)."""

    config_path: Path | None
    root: Path
    plan: bool
    version: str | None = None
    next_version: str | None = None
    destination: str | None = None
    sandbox: Sandbox | None = None
    hosts: tuple[str, ...] | None = None

    @classmethod
    def start(cls, config_path: str | Path | None = None, *, root: str | Path | None = None,
              destination: str | None = None, version: str | None = None,
              next_version: str | None = None, plan: bool | None = None,
              hosts: str | list[str] | tuple[str, ...] | None = None) -> Runbook:
        """Resolve a runbook's parameters cell: `None` means the running sandbox's sample app
        ($KAMALNB_SANDBOX names the sandbox, default `default`), or `examples/hey` in plan mode
        when no sandbox runs. `plan=None` follows $KAMALNB_PLAN (Binder sets it).

        `hosts` (a list, or one string of hosts separated by commas) with no `config_path`
        is a fleet without a deploy.yml: there is no project (`load()` gives `NoProject`),
        only `fleet()`."""
        if plan is None and os.environ.get("KAMALNB_PLAN", "").strip():
            plan = os.environ["KAMALNB_PLAN"].strip().lower() not in PLAN_OFF
        if isinstance(hosts, str):  # papermill's `-p hosts 10.0.0.1,10.0.0.2`
            hosts = hosts.replace(",", " ").split()
        if hosts is not None:
            hosts = tuple(dict.fromkeys(hosts))
            if not hosts:
                raise ConfigError("hosts is empty: give at least one host, or None")
        if config_path is None and hosts:  # a fleet you did not deploy: nothing to load
            return cls(config_path=None, root=Path(root).resolve() if root else Path.cwd(), plan=bool(plan),
                       hosts=hosts, sandbox=running_sandbox())
        sandbox = None
        if config_path is None:
            sandbox = running_sandbox()
            if sandbox is not None:
                config_path = sandbox.app_dir / "config" / "deploy.yml"
            else:  # nothing to deploy to: plan the example project
                config_path = example_project() / "config" / "deploy.yml"
                version = version or os.environ.get("VERSION") or "v1"
                next_version = next_version or "v2"
                plan = True
        path = Path(config_path).resolve()
        return cls(config_path=path, root=Path(root).resolve() if root else path.parent.parent,
                   plan=bool(plan), version=version, next_version=next_version,
                   destination=destination, sandbox=sandbox, hosts=hosts)

    def load(self) -> Any:
        """The project, as `kamalnb.load` reads it with these parameters (an `App`); with
        only `hosts` and no deploy.yml, a `NoProject` whose tables say they are skipped."""
        from kamalnb.app import load

        if self.config_path is None:
            return NoProject()
        return load(self.config_path, self.destination, version=self.version, root=self.root)

    def fleet(self, app: Any = None, *, user: str | None = "root", ssh_config: str | Path | None = None) -> Fleet:
        """Every container on the hosts, whoever started them: `hosts` when given (with
        `user` and `ssh_config`; hosts of the running sandbox with no `ssh_config` are
        reached with the sandbox's), else the hosts of the project `app`, reached with its
        `ssh:` settings. Nothing is contacted until a table is read."""
        from kamalnb.app import App, Fleet

        if self.hosts:
            if ssh_config is None and self.sandbox is not None and \
                    set(self.hosts) <= {host.address for host in self.sandbox.hosts}:
                ssh_config = self.sandbox.ssh_config
            return Fleet(self.hosts, user=user, ssh_config=ssh_config)
        if isinstance(app, App):
            return app.fleet()
        raise ConfigError("no hosts to inspect: set hosts in the parameters cell, or config_path")

    def on_hosts(self, table: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A fleet-state table, read from the hosts; in plan mode there are none to read."""
        if isinstance(table, Skipped):
            return table()
        if self.plan:
            print(f"Plan mode: {getattr(table, '__name__', 'this table')}() reads the hosts, skipped.")
            return None
        return table(*args, **kwargs)

    def check_hosts(self, hosts: pandas.DataFrame | None, *, min_disk_free: int = MIN_DISK_FREE) -> None:
        """Stop the runbook when a host of `app.hosts()` cannot be reached (HostsFailed, with
        each host's reason); say which hosts need Docker installed (the bootstrap step does
        it) and which have less than `min_disk_free` bytes left where Docker keeps images."""
        if hosts is None:  # plan mode: nothing was read
            return
        import pandas as pd

        rows = [(row, row.error if isinstance(row.error, str) else None) for row in hosts.itertuples()]
        unreachable = [HostError(row.host, error or "unreachable") for row, error in rows if not row.reachable]
        if unreachable:
            raise HostsFailed("Reaching the hosts", unreachable)
        notes = [f"{row.host}: Docker does not answer ({error}); the bootstrap step installs it"
                 for row, error in rows if error]
        notes += [f"{row.host}: only {row.disk_free / 2**30:.1f} GiB free in {row.docker_root}: "
                  "free some space before pulling images" for row, error in rows
                  if not error and pd.notna(row.disk_free) and row.disk_free < min_disk_free]
        if notes:
            print("\n".join(notes))
        else:
            print(f"All {len(hosts)} hosts are reachable, run Docker and have at least "
                  f"{min_disk_free / 2**30:.0f} GiB free.")

    def rollback_target(self, app: App) -> str:
        """The version to roll back to: `version` when the parameters cell gives one, else the
        one that ran before the current one: of the versions whose containers are still on
        every host, the one started last, other than the one every host runs
        (`app.rollback_versions()`). Plan mode reads nothing: `version`, or `previous`."""
        if self.plan:
            return self.version or "previous"
        if self.version:
            return self.version
        table = app.rollback_versions()
        candidates = table[table.can_roll_back]
        if candidates.empty:
            raise ConfigError("no earlier version is on every host: `app.rollback_versions()` shows what is "
                              "there; deploy the version you want instead")
        return str(candidates.version.iloc[0])

    def ensure_rollback_target(self, app: App) -> None:
        """On the sandbox's sample app only: deploy until the hosts hold two versions, so a
        rollback has somewhere to go (the current commit, then a new commit of the app).
        Elsewhere, and in plan mode, it changes nothing."""
        from kamalnb.sandbox import sample_app

        if self.plan:
            print("Plan mode: nothing to prepare.")
            return
        if app.config.service != sample_app.SERVICE:
            print("Not the sandbox's sample app: nothing to prepare, the versions on the hosts are what they are.")
            return
        table = app.rollback_versions()
        if table.can_roll_back.any():
            print(f"The hosts hold {len(table)} versions; a rollback has somewhere to go.")
            return
        if table.empty:
            print(f"Deploying the sample app's current version, {app.config.version}")
            app.deploy(ui="quiet")
        next_version = sample_app.new_version(self.root, "a version to roll back from")
        print(f"Deploying a new commit of the sample app, {next_version}")
        app.deploy(version=next_version, ui="quiet")

    def __repr__(self) -> str:
        mode = "PLAN MODE: the steps below only list their commands; no host is contacted.\n" if self.plan else ""
        if self.config_path is None:
            return f"{mode}No project (no deploy.yml): inspecting the hosts {', '.join(self.hosts or ())}"
        return f"{mode}Project: {self.root}"


class Skipped:
    """A table of a project there is none of: calling it says so and returns None."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        print(f"No deploy.yml: {self.__name__}() reads a project's hosts, skipped.")

    def __getattr__(self, name: str) -> Skipped:
        if name.startswith("_"):  # not a table: display hooks and the like stay absent
            raise AttributeError(name)
        return Skipped(f"{self.__name__}.{name}")


class NoProject(Skipped):
    """What `Runbook.load()` gives when only hosts were given: every table of it is skipped."""

    def __init__(self) -> None:
        super().__init__("app")

    def __repr__(self) -> str:
        return "No project: no deploy.yml was given, so only the hosts' own tables are read."

    def close(self) -> None:
        """Nothing to close."""


def running_sandbox() -> Sandbox | None:
    """The sandbox `scripts/demo` starts ($KAMALNB_SANDBOX names another), if it runs."""
    from kamalnb.sandbox import Sandbox

    try:
        sandbox = Sandbox.find(os.environ.get("KAMALNB_SANDBOX", "default"))
        return sandbox if sandbox.running() else None
    except (SandboxError, OSError):  # none was started here, or it is not ours to look at
        return None


def example_project() -> Path:
    """examples/hey, next to the notebook being run or next to kamalnb's own sources."""
    for base in (Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]):
        if (base / EXAMPLE / "config" / "deploy.yml").is_file():
            return base / EXAMPLE
    raise ConfigError("examples/hey is not here: set config_path to a Kamal config/deploy.yml")
