"""`kamalnb proxy logs -f` for real: the last lines, then new ones as the proxy logs them,
until interrupted, leaving nothing behind on the host."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from kamalnb.commands.base import Command
from kamalnb.executors import SshExecutor, SshSettings
from kamalnb.proxy import CaddyDriver
from tests.proxy.test_https import Project

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]


def test_proxy_logs_follow_streams_until_interrupted(sandbox, tmp_path) -> None:
    host = sandbox.hosts[0].address
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)))
    driver = CaddyDriver(executor, sandbox.proxy_image)
    project = Project(sandbox, tmp_path, "follow", [host], [], ssl_setting=False)
    driver.boot(host)
    # An hour ago, to the second: a `--since` no other follower on this machine uses.
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 3600))
    following = f"pgrep -fc '^docker logs --tail 10 --since {since} --follow kamalnb-proxy'"
    process = subprocess.Popen([sys.executable, "-m", "kamalnb", "proxy", "logs", "-f", "--since", since,
                                "--grep", "admin.api"], cwd=project.path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        # Every request to Caddy's admin API is logged: each `routes()` reads it.
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while len(seen) < 12 and time.monotonic() < deadline:
            driver.routes(host)
            line = process.stdout.readline()
            if "admin.api" in line:
                seen.append(line)
        assert len(seen) >= 12
        assert executor.run(host, Command((following,)), check=False).stdout.strip() == "1"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    try:
        for _ in range(20):
            if executor.run(host, Command((following,)), check=False).stdout.strip() == "0":
                break
            time.sleep(0.5)
        assert executor.run(host, Command((following,)), check=False).stdout.strip() == "0"
    finally:
        # The host as the next tests expect it: no proxy holding its ports 80 and 443.
        driver.purge(host)
        executor.close()
