"""`proxy reboot`: an outage on each host, so it asks first; `--rolling` goes host by host
with Kamal's hooks around each (scripted hosts; the sandbox test is in tests/proxy)."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from kamalnb.errors import ConfigError
from tests.orchestration.conftest import HOSTS

REMOVE = re.compile(r"^docker rm --force kamalnb-proxy")


def test_a_reboot_needs_confirm_and_plans_without_it(project, executor) -> None:
    app = project.load()
    with pytest.raises(ConfigError, match=r"reboot\(confirm=True\)"):
        app.proxy.reboot(executor=executor, ui="silent")
    assert executor.calls == []
    assert app.proxy.reboot(plan=True).commands(kind=None)


def test_rolling_reboots_one_host_after_the_other_with_the_hooks_around_each(project, executor) -> None:
    proxy_hosts = project.load().config.specifics.proxy_hosts
    assert len(proxy_hosts) > 1
    report = project.load().proxy.reboot(rolling=True, confirm=True, executor=executor, ui="silent")
    assert report.ok
    # Each host's last call comes before the next host's first: never two at once.
    spans = [(min(i for i, call in enumerate(executor.calls) if call.host == host),
              max(i for i, call in enumerate(executor.calls) if call.host == host)) for host in proxy_hosts]
    assert all(earlier[1] < later[0] for earlier, later in pairwise(spans))
    assert all(executor.ran(REMOVE, host=host) for host in proxy_hosts)
    assert [hook for hook in project.hooks() if "proxy-reboot" in hook[0]] == [
        (f"{stage}-proxy-reboot", host) for host in proxy_hosts for stage in ("pre", "post")]
    assert set(proxy_hosts) <= set(HOSTS)
