"""What a killed deploy left behind, found and cleaned up by the next one.

A deploy killed part way (SIGKILL, a laptop gone to sleep for good) leaves, depending on
the phase it died in: a new container that runs but was never switched to (start,
health); the route on the new container with the old one still running in its second
slot (switch, drain); an old container not yet stopped (stop); a container a redeploy
renamed `*_replaced_*` still serving under that name. The lock it held stays, as in
Kamal: `kamalnb lock release` frees it.

The next deploy, rollback or app boot finds these under the lock, on each host before it
changes anything there, says what it found, and cleans up without dropping a request: the
container the route serves stays (renamed back if it was renamed aside) and becomes the
route's only target; one still in the route is stopped once it has no request in flight;
an older one (the version before, which a rollback needs) is stopped; a newer one, never
routed to, is stopped and removed.
A role without the proxy keeps the container Kamal takes as current and stops the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.events import Notice, Phase
from kamalnb.steps.boot import route_for
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    from kamalnb.config import Role
    from kamalnb.proxy.base import ProxyDriver

FOUND = "left by an interrupted deploy"


def clean(context: StepContext, driver: ProxyDriver, host: str, role: Role) -> list[str]:
    """Clean up one (host, role) of the deploy; one line per thing found and done."""
    app = AppCommands(context.config, role, host)
    running = context.executor.read(host, facts.running_versions(app))
    targets = driver.targets(host, route_for(role).id) if role.running_proxy else ()
    if not targets:
        if len(running) <= 1:
            return []
        return _keep_current(context, host, role, app, running)
    if len(running) <= 1 and len(targets) <= 1 and not any(facts.is_replaced(v) for v in running):
        return []
    with context.phase(host, Phase.RECOVER, role.name):
        return _settle_route(context, driver, host, role, app, running, targets)


def _keep_current(context: StepContext, host: str, role: Role, app: AppCommands, running: list[str]) -> list[str]:
    """A role without a route: Kamal's current container stays, the others stop."""
    with context.phase(host, Phase.RECOVER, role.name):
        current = context.executor.read(host, facts.running_version(app))
        notes = []
        for version in running:
            if version != current:
                context.executor.change(host, app.engine_stop(version), check=False)
                notes.append(_note(context, host, role, f"stopped {app.container_name(version)}, a second running "
                                                        f"container beside {app.container_name(current)} ({FOUND})"))
        return notes


def _settle_route(context: StepContext, driver: ProxyDriver, host: str, role: Role, app: AppCommands,
                  running: list[str], targets: tuple[str, ...]) -> list[str]:
    executor = context.executor
    live = targets[0]
    idle = targets[1] if len(targets) > 1 else None
    inspected = {version: executor.read(host, facts.container(app.container_name(version))) for version in running}
    refs = {version: info.id[:12] if info else None for version, info in inspected.items()}
    serving = next((version for version, ref in refs.items() if ref and live.startswith(f"{ref}:")), None)
    if serving is None:
        # The route serves no running container of this role: not something a killed deploy
        # leaves, so nothing here is touched.
        return []
    serving_name = app.container_name(serving)
    draining = next((version for version, ref in refs.items()
                     if version != serving and idle is not None and ref and idle.startswith(f"{ref}:")), None)
    notes = []
    if idle is not None:
        if draining is not None:
            driver.wait_drained(host, idle, float(context.config.drain_timeout))
        # Before any stop, as a deploy does: nothing of the route reaches what is stopped next.
        driver.settle(host, route_for(role), live)
    serving_info = inspected[serving]
    serving_created = serving_info.created if serving_info else None
    for version, info in inspected.items():
        if version == serving:
            continue
        name = app.container_name(version)
        created = info.created if info else None
        executor.change(host, app.engine_stop(version), check=False)
        if version == draining:
            notes.append(_note(context, host, role, f"stopped {name} once drained: the route still had it beside "
                                                    f"{serving_name} ({FOUND} while draining)"))
        elif created is not None and serving_created is not None and created < serving_created:
            # Older than what serves: the version before it, which a rollback starts again.
            notes.append(_note(context, host, role, f"stopped {name}, the earlier version still running beside "
                                                    f"{serving_name} ({FOUND} while stopping it)"))
        else:
            executor.run(host, app.remove_container(version), check=False)
            notes.append(_note(context, host, role, f"removed {name}: running, never switched to ({FOUND})"))
    if idle is not None and draining is None:
        notes.append(_note(context, host, role, f"pointed the route's second target {idle}, a stopped container, "
                                                f"at {serving_name} ({FOUND})"))
    if facts.is_replaced(serving):
        original = facts.without_replaced(serving)
        if executor.read(host, facts.container_id(app, original)) is None:
            executor.change(host, app.engine_rename_container(serving, original))
            notes.append(_note(context, host, role, f"renamed {serving_name}, which serves, back "
                                                    f"to {app.container_name(original)} ({FOUND} after renaming it "
                                                    "aside)"))
    return notes


def _note(context: StepContext, host: str, role: Role, text: str) -> str:
    context.events.emit(Notice(host, text, role.name))
    return f"{host} {role.name}: {text}"
