"""Switching hosts back when a deploy fails part way (`x-kamalnb: on_failure: revert`).

Kamal leaves the hosts that switched before another host or wave failed on the new
version: a mixed fleet. kamalnb switches them back, in parallel, the way it switched them
forward, so that no request is dropped: start the old container again (a deploy stops it
once drained), check its health, switch the route to it, wait until the new container has
no request in flight, stop the new container. A host that cannot be switched back keeps
the new version and its row says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamalnb import facts
from kamalnb.commands import App as AppCommands
from kamalnb.errors import HostError, error_text
from kamalnb.events import Phase
from kamalnb.steps.boot import Switched, container_ref, route_for, wait_healthy, wait_running
from kamalnb.steps.context import StepContext

if TYPE_CHECKING:
    from kamalnb.proxy.base import ProxyDriver

KEEP = "keep"


def settle_failure(context: StepContext, driver: ProxyDriver, switched: list[Switched], failed: str) -> None:
    """After `failed` (a host, or what it did) failed: switch every host of `switched` back,
    or with `on_failure: keep` say on each that it keeps the new version."""
    if context.extension.on_failure == KEEP:
        for entry in switched:
            if entry.outcome.ok:
                entry.outcome.reason = f"kept {entry.version} (on_failure: keep) although {failed} failed"
        return
    to_revert = [entry for entry in switched if _differs(entry)]
    for entry in switched:
        if not _differs(entry) and entry.outcome.ok:
            entry.outcome.reason = (f"kept {entry.version}: nothing ran before it here" if entry.old_version is None
                                    else f"kept {entry.version}: it ran before too")
    by_key = {(entry.host, entry.role.name): entry for entry in to_revert}
    outcomes = context.parallel(by_key, lambda key: revert(context, driver, by_key[key], failed))
    for key, error in outcomes.errors.items():
        _not_reverted(by_key[key], error)


def _differs(entry: Switched) -> bool:
    return entry.old_version is not None and facts.without_replaced(entry.old_version) != entry.version


def revert(context: StepContext, driver: ProxyDriver, entry: Switched, failed: str) -> None:
    """Switch `entry`'s host back to the container it ran before, as a boot switches forward."""
    host, role, outcome = entry.host, entry.role, entry.outcome
    assert entry.old_version is not None
    config = context.config
    app = AppCommands(config, role, host)
    old_container = app.container_name(entry.old_version)
    new_container = app.container_name(entry.version)
    run = context.executor.run
    back = False
    try:
        with context.phase(host, Phase.REVERT, role.name):
            outcome.record(run(host, app.start_version(entry.old_version)))
            if role.running_proxy:
                proxy = role.proxy
                assert proxy is not None
                wait_healthy(context, host, config, role, old_container)
                route = route_for(role)
                target = f"{container_ref(context, host, old_container)}:{proxy.app_port}"
                previous = driver.switch(host, route, target)
                back = True
                if previous:
                    driver.wait_drained(host, previous, float(config.drain_timeout))
                    driver.settle(host, route, target)
                outcome.record(context.executor.change(host, app.engine_stop(entry.version), check=False))
            else:
                wait_running(context, host, config, app, entry.old_version)
                back = True
                outcome.record(context.executor.change(host, app.engine_stop(entry.version), check=False))
    except HostError as error:
        if not back:
            # The new container still serves: the old one goes back to how the deploy left it.
            try:
                context.executor.change(host, app.engine_stop(entry.old_version), check=False)
            except HostError:
                pass  # the host is gone: the error below says what it serves
            _not_reverted(entry, error)
            return
        outcome.fail(HostError(host, f"switched back to {facts.without_replaced(entry.old_version)}, "
                                     f"but then: {error_text(error)}"))
    if outcome.ok:
        outcome.status = "reverted"
    outcome.version_after = facts.without_replaced(entry.old_version)
    outcome.reason = f"switched back from {entry.version} ({new_container} stopped): {failed} failed"


def _not_reverted(entry: Switched, error: BaseException) -> None:
    outcome = entry.outcome
    old = facts.without_replaced(entry.old_version or "")
    detail = error_text(error)
    earlier = f"{outcome.error_message}; then " if outcome.error is not None else ""
    outcome.version_after = entry.version
    outcome.reason = f"still serves {entry.version}: switching back to {old} failed"
    outcome.fail(HostError(entry.host, f"{earlier}could not switch back to {old}, so it still serves "
                                       f"{entry.version}: {detail}"))
