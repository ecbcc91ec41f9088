"""The main job: the sample app deployed to the sandbox (v1, then v2) with live progress,
then the fleet's state; the visit counter the app keeps in its redis accessory survives
the deploy and an `accessory reboot`. The runbook notebooks make the same calls."""

from __future__ import annotations

import time
import urllib.request

import kamalnb
from kamalnb.sandbox import sample_app
from kamalnb.sandbox.fleet import Sandbox


def run(sandbox: Sandbox, ui: str = "auto") -> kamalnb.App:
    def load() -> kamalnb.App:
        return kamalnb.load(sandbox.app_dir / "config" / "deploy.yml", root=sandbox.app_dir)

    app = load()
    first = sandbox.hosts[0].address
    print(f"\n== setup: the redis accessory, then the sample app, version {app.config.abbreviated_version}, "
          f"on {len(sandbox.hosts)} hosts")
    print(app.setup(ui=ui))
    print("\n== accessories")
    print(app.accessories.details_table(ui="silent"))
    print(f"\n== visits counted in redis (http://{first}/cgi-bin/count): {visit(first)}, {visit(first)}")
    version = sample_app.new_version(sandbox.app_dir, "A new version for the demo")
    app = load()
    print(f"\n== deploy: version {version[:7]}, without dropping a request")
    report = app.deploy(ui=ui)
    print(report)
    print(f"\n== visits after the deploy: {visit(first)}")
    print("\n== accessory reboot redis: a new container on the same volume")
    print(app.accessory("redis").reboot(ui=ui))
    print(f"\n== visits after the reboot: {visit(first)}")
    print("\n== which version serves where")
    print(app.versions()[["role", "host", "version", "mixed"]].to_string(index=False))
    print("\n== containers")
    print(app.containers()[["host", "role", "container", "state"]].to_string(index=False))
    print("\n== proxy routes")
    print(app.proxy.routes()[["host", "route", "upstream", "in_flight"]].to_string(index=False))
    app.close()
    return app


def visit(host: str, wait: float = 10.0) -> str:
    """One visit of the counter page; redis may take a moment to listen after a reboot."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}/cgi-bin/count", timeout=5) as response:
                text = response.read().decode().strip()
        except OSError as error:
            text = f"error: {error}"
        if text.isdigit() or time.monotonic() > deadline:
            return text
        time.sleep(0.2)
