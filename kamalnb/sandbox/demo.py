"""The main job: the sample app deployed to the sandbox (v1, then v2) with live progress,
then the fleet's state. The runbook notebooks make the same calls."""

from __future__ import annotations

import kamalnb
from kamalnb.sandbox import sample_app
from kamalnb.sandbox.fleet import Sandbox


def run(sandbox: Sandbox, ui: str = "auto") -> kamalnb.App:
    def load() -> kamalnb.App:
        return kamalnb.load(sandbox.app_dir / "config" / "deploy.yml", root=sandbox.app_dir)

    app = load()
    print(f"\n== setup: the sample app, version {app.config.abbreviated_version}, on {len(sandbox.hosts)} hosts")
    print(app.setup(ui=ui))
    version = sample_app.new_version(sandbox.app_dir, "A new version for the demo")
    app = load()
    print(f"\n== deploy: version {version[:7]}, without dropping a request")
    report = app.deploy(ui=ui)
    print(report)
    print("\n== which version serves where")
    print(app.versions()[["role", "host", "version", "mixed"]].to_string(index=False))
    print("\n== containers")
    print(app.containers()[["host", "role", "container", "state"]].to_string(index=False))
    print("\n== proxy routes")
    print(app.proxy.routes()[["host", "route", "upstream", "in_flight"]].to_string(index=False))
    app.close()
    return app
