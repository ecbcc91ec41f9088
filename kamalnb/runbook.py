"""What every runbook notebook settles before its first step: which project, which versions,
and whether it runs against hosts or in plan mode. Kept here so that a runbook's cells hold
only the steps a reader follows."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamalnb.errors import ConfigError, SandboxError

if TYPE_CHECKING:
    from kamalnb.app import App
    from kamalnb.sandbox import Sandbox

EXAMPLE = Path("examples") / "hey"
PLAN_OFF = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Runbook:
    """A runbook's resolved parameters. `plan` is True when nothing may be contacted."""

    config_path: Path
    root: Path
    plan: bool
    version: str | None = None
    next_version: str | None = None
    destination: str | None = None
    sandbox: Sandbox | None = None

    @classmethod
    def start(cls, config_path: str | Path | None = None, *, root: str | Path | None = None,
              destination: str | None = None, version: str | None = None,
              next_version: str | None = None, plan: bool | None = None) -> Runbook:
        """Resolve a runbook's parameters cell: `None` means the running sandbox's sample app
        ($KAMALNB_SANDBOX names the sandbox, default `default`), or `examples/hey` in plan mode
        when no sandbox runs. `plan=None` follows $KAMALNB_PLAN (Binder sets it)."""
        if plan is None and os.environ.get("KAMALNB_PLAN", "").strip():
            plan = os.environ["KAMALNB_PLAN"].strip().lower() not in PLAN_OFF
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
                   destination=destination, sandbox=sandbox)

    def load(self) -> App:
        """The project, as `kamalnb.load` reads it with these parameters."""
        from kamalnb.app import load

        return load(self.config_path, self.destination, version=self.version, root=self.root)

    def on_hosts(self, table: Callable[..., Any], *args: Any) -> Any:
        """A fleet-state table, read from the hosts; in plan mode there are none to read."""
        if self.plan:
            print(f"Plan mode: {getattr(table, '__name__', 'this table')}() reads the hosts, skipped.")
            return None
        return table(*args)

    def __repr__(self) -> str:
        mode = "PLAN MODE: the steps below only list their commands; no host is contacted.\n" if self.plan else ""
        return f"{mode}Project: {self.root}"


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
