"""`kamalnb proxy reboot` on real hosts: refused without -y when nothing can ask, and with
`-y --rolling` each host's proxy replaced in turn, every app route back on each."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.sandbox


def proxy_ids(sample) -> dict[str, str]:
    return {host.address: sample.sandbox.host_docker(host.address, "inspect", "--format", "{{.Id}}",
                                                     "kamalnb-proxy").stdout.strip()
            for host in sample.sandbox.hosts}


def reboot(sample, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamalnb", "proxy", "reboot", *flags], cwd=sample.path,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def test_a_rolling_reboot_replaces_each_proxy_in_turn_and_every_route_comes_back(sample) -> None:
    version = sample.load().deploy(ui="quiet").outcomes[0].version_after
    before = proxy_ids(sample)

    refused = reboot(sample)
    assert refused.returncode != 0 and "pass -y" in refused.stderr
    assert proxy_ids(sample) == before

    rebooted = reboot(sample, "-y", "--rolling")
    assert rebooted.returncode == 0, rebooted.stderr
    after = proxy_ids(sample)
    assert all(after[host] and after[host] != before[host] for host in before)
    assert set(sample.serving().values()) == {version}
