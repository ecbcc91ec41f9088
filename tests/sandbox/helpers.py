"""Plain paramiko and HTTP helpers for checking the sandbox itself (not kamalnb's executor)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import paramiko

from kamalnb.sandbox import Sandbox


def connect(sandbox: Sandbox, host: str) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(sandbox.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(sandbox.host(host).address, username=sandbox.user, key_filename=str(sandbox.ssh_key),
                   look_for_keys=False, allow_agent=False, timeout=5)
    return client


def ssh(sandbox: Sandbox, host: str, command: str) -> tuple[int, str, str]:
    client = connect(sandbox, host)
    try:
        _, stdout, stderr = client.exec_command(command, timeout=60)
        out, err = stdout.read().decode(), stderr.read().decode()
        return stdout.channel.recv_exit_status(), out, err
    finally:
        client.close()


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def wait_status(url: str, status: int, timeout: float) -> float | None:
    """Seconds until `url` answered `status`, or None if it never did within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if http_status(url) == status:
            return time.monotonic() - start
        time.sleep(0.1)
    return None
