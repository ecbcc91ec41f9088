"""The SSH executor against the sandbox's real OpenSSH servers."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import paramiko
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamalnb.commands.base import Command
from kamalnb.errors import (
    AuthenticationFailed,
    CommandFailed,
    CommandTimedOut,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
)
from kamalnb.events import CommandRan, Events, OutputLine
from kamalnb.executors import Executor, SshExecutor, SshSettings
from kamalnb.fanout import fan_out
from kamalnb.results import Report
from kamalnb.sensitive import Secret

pytestmark = pytest.mark.sandbox

# A key that belongs to no sandbox host.
STRANGER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def cmd(*argv: str) -> Command:
    return Command.from_argv(argv)


@pytest.fixture(scope="module")
def addresses(sandbox) -> list[str]:
    return [host.address for host in sandbox.hosts]


@pytest.fixture
def settings_for(sandbox):
    def make(**overrides) -> SshSettings:
        return SshSettings(**{"config": str(sandbox.ssh_config), **overrides})

    return make


@pytest.fixture
def ssh(settings_for):
    executor = SshExecutor(settings_for())
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def shared(sandbox):
    """One executor for the property test, whose examples must not each pay a handshake."""
    executor = SshExecutor(SshSettings(config=str(sandbox.ssh_config)))
    yield executor
    executor.close()


def test_it_is_an_executor(ssh):
    assert isinstance(ssh, Executor)


def test_a_command_runs_on_all_hosts_in_parallel(ssh, addresses, sandbox):
    # Each host says when its command started and ended (the hosts share this machine's
    # clock): in parallel, every one starts before any ends, however loaded the machine is.
    results = ssh.run_all(addresses, cmd("sh", "-c", "hostname; date +%s.%N; sleep 1; date +%s.%N"))
    lines = {host: result.stdout.split() for host, result in results.check("hostname").items()}
    assert {host: said[0] for host, said in lines.items()} == {host.address: host.name for host in sandbox.hosts}
    assert max(float(said[1]) for said in lines.values()) < min(float(said[2]) for said in lines.values())


def test_fifty_commands_on_three_hosts_make_three_handshakes(ssh, addresses):
    def fifty(host: str) -> set[str]:
        # $SSH_CONNECTION names the client's port: one port per host means one connection.
        return {ssh.run(host, cmd("sh", "-c", "echo $SSH_CONNECTION")).stdout.split()[1] for _ in range(50)}

    ports = fan_out(addresses, fifty).check("fifty commands")
    assert all(len(seen) == 1 for seen in ports.values()), ports
    assert ssh.connections_opened == 3
    assert sorted(ssh.connected_hosts()) == sorted(addresses)


def test_handshakes_in_flight_are_bounded(settings_for, addresses, monkeypatch):
    in_flight, most = 0, 0
    lock = threading.Lock()
    connect = paramiko.SSHClient.connect

    def counting(self, *args, **kwargs):
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(0.2)
            return connect(self, *args, **kwargs)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(paramiko.SSHClient, "connect", counting)
    with SshExecutor(settings_for(), max_concurrent_starts=1) as ssh:
        results = ssh.run_all(addresses, cmd("true"))
    assert all(result.ok for result in results.check("true").values())
    assert most == 1


def test_parallelism_bounds_hosts_at_work(settings_for, addresses):
    with SshExecutor(settings_for(), parallelism=1) as ssh:
        ssh.run_all(addresses, cmd("true"))
        started = time.monotonic()
        ssh.run_all(addresses, cmd("sleep", "0.4"))
        assert time.monotonic() - started > 1.2


def test_output_lines_arrive_while_the_command_runs(settings_for, addresses):
    seen = []
    with SshExecutor(settings_for(), events=Events(lambda e: seen.append((time.monotonic(), e)))) as ssh:
        ssh.run(addresses[0], cmd("sh", "-c", "echo one; sleep 1; echo two >&2"))
    lines = {e.text: (t, e) for t, e in seen if isinstance(e, OutputLine)}
    finished = next(t for t, e in seen if isinstance(e, CommandRan))
    assert lines["one"][1].host == addresses[0] and lines["one"][1].stream == "stdout"
    assert lines["two"][1].stream == "stderr"
    assert finished - lines["one"][0] > 0.7
    assert finished - lines["two"][0] < 0.5


def test_failure_carries_exit_status_and_stderr(ssh, addresses):
    with pytest.raises(CommandFailed) as raised:
        ssh.run(addresses[0], cmd("sh", "-c", "echo 'no such image' >&2; exit 125"))
    assert raised.value.host == addresses[0]
    assert raised.value.exit_status == 125
    assert "no such image" in str(raised.value)


def test_timeout_stops_waiting_and_the_connection_stays_usable(ssh, addresses):
    started = time.monotonic()
    with pytest.raises(CommandTimedOut) as raised:
        ssh.run(addresses[0], cmd("sleep", "30"), timeout=0.5)
    assert time.monotonic() - started < 3
    assert raised.value.host == addresses[0]
    assert ssh.run(addresses[0], cmd("echo", "still here")).stdout == "still here\n"
    assert ssh.connections_opened == 1


def test_a_host_whose_sshd_is_stopped_does_not_lose_the_others(settings_for, sandbox, addresses):
    down = sandbox.hosts[2]
    sandbox.stop_sshd(down.name)
    try:
        with SshExecutor(settings_for(connect_timeout=5)) as ssh:
            results = ssh.run_all(addresses, cmd("hostname"))
    finally:
        sandbox.start_sshd(down.name)
    assert isinstance(results.errors[down.address], HostUnreachable)
    assert "Connection refused" in str(results.errors[down.address])
    assert [results.results[h.address].stdout.strip() for h in sandbox.hosts[:2]] == ["h1", "h2"]
    report = Report.from_results("exec", results)
    assert [o.status for o in report] == ["ok", "ok", "failed"]


def test_a_host_whose_link_goes_down_fails_its_command_within_the_connect_timeout(settings_for, sandbox, addresses):
    lost = sandbox.hosts[2]
    events = Events()
    # The link goes down once the command runs there: from its first output line, not after a sleep.
    events.subscribe(lambda event: subprocess.run(["ip", "link", "set", lost.veth, "down"], check=True)
                     if isinstance(event, OutputLine) and event.text == "running" else None)
    try:
        with SshExecutor(settings_for(connect_timeout=2), events=events) as ssh:
            started = time.monotonic()
            with pytest.raises(HostUnreachable) as raised:
                ssh.run(lost.address, Command(("echo running && sleep 60",)))
            elapsed = time.monotonic() - started
    finally:
        subprocess.run(["ip", "link", "set", lost.veth, "up"], check=True)
    assert raised.value.host == lost.address
    assert str(raised.value).startswith(f"{lost.address}: no answer within 2 s while running `echo running")
    assert elapsed < 30  # TCP's retransmissions alone take minutes; the command itself 60 s


def test_a_changed_host_key_is_refused_even_with_trust_on_first_use(settings_for, addresses, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{addresses[0]} {STRANGER_KEY}\n")
    with (SshExecutor(settings_for(known_hosts=[str(known_hosts)], trust_on_first_use=True)) as ssh,
          pytest.raises(HostKeyChanged) as raised):
        ssh.run(addresses[0], cmd("true"))
    assert "ssh-keygen -R" in str(raised.value)
    assert known_hosts.read_text() == f"{addresses[0]} {STRANGER_KEY}\n"


def test_an_unknown_host_is_refused_unless_trust_on_first_use(settings_for, addresses, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    with SshExecutor(settings_for(known_hosts=[str(known_hosts)])) as ssh, pytest.raises(HostKeyUnknown) as raised:
        ssh.run(addresses[0], cmd("true"))
    assert f"ssh-keyscan -p 22 {addresses[0]} >> {known_hosts}" in str(raised.value)
    assert not known_hosts.exists()
    with SshExecutor(settings_for(known_hosts=[str(known_hosts)], trust_on_first_use=True)) as ssh:
        assert ssh.run(addresses[0], cmd("echo", "ok")).stdout == "ok\n"
    assert known_hosts.read_text().startswith(f"{addresses[0]} ssh-ed25519 ")
    with SshExecutor(settings_for(known_hosts=[str(known_hosts)])) as ssh:
        assert ssh.run(addresses[0], cmd("echo", "known now")).stdout == "known now\n"


def test_a_jump_host_reaches_one_host_through_another(settings_for, addresses):
    bastion, target = addresses[0], addresses[1]
    with SshExecutor(settings_for(proxy=bastion)) as ssh:
        seen_from = ssh.run(target, cmd("sh", "-c", "echo $SSH_CONNECTION")).stdout.split()[0]
        assert ssh.run(target, cmd("hostname")).stdout == "h2\n"
        assert ssh.connections_opened == 2
    assert seen_from == bastion


def test_a_proxy_command_carries_the_connection(settings_for, sandbox, addresses):
    bastion, target = addresses[0], addresses[1]
    proxy = f"ssh -F {sandbox.ssh_config} -W %h:%p {bastion}"
    with SshExecutor(settings_for(proxy_command=proxy)) as ssh:
        assert ssh.run(target, cmd("sh", "-c", "echo $SSH_CONNECTION")).stdout.split()[0] == bastion


def test_key_data_authenticates_without_any_key_file(sandbox, addresses):
    settings = SshSettings(config=False, known_hosts=[str(sandbox.known_hosts)], keys_only=True,
                           key_data=[Secret(sandbox.ssh_key.read_text())])
    with SshExecutor(settings) as ssh:
        assert ssh.run(addresses[0], cmd("echo", "in")).stdout == "in\n"


def test_the_ssh_agents_keys_are_offered(sandbox, addresses, monkeypatch, tmp_path):
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        subprocess.run(["ssh-add", "-q", str(sandbox.ssh_key)], check=True,
                       env={**os.environ, "SSH_AUTH_SOCK": str(socket_path)}, stderr=subprocess.DEVNULL)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        monkeypatch.setenv("HOME", str(tmp_path))
        with SshExecutor(SshSettings(config=False, known_hosts=[str(sandbox.known_hosts)])) as ssh:
            assert ssh.run(addresses[0], cmd("echo", "agent")).stdout == "agent\n"
    finally:
        agent.terminate()
        agent.wait()


def test_a_refused_key_names_what_was_offered(sandbox, addresses, tmp_path):
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    settings = SshSettings(config=False, known_hosts=[str(sandbox.known_hosts)], keys=[str(stranger)], keys_only=True)
    with SshExecutor(settings) as ssh, pytest.raises(AuthenticationFailed) as raised:
        ssh.run(addresses[0], cmd("true"))
    assert raised.value.host == addresses[0]
    assert f"authentication as root failed on {addresses[0]}:22; offered: {stranger}" in str(raised.value)


def test_upload_writes_the_file_with_its_mode_before_any_content(ssh, addresses):
    host = addresses[0]
    ssh.run(host, cmd("mkdir", "-p", ".kamalnb-test"))
    try:
        ssh.run(host, cmd("sh", "-c", "echo old > .kamalnb-test/web.env; chmod 644 .kamalnb-test/web.env"))
        result = ssh.upload(host, Secret("SECRET=1\n"), ".kamalnb-test/web.env", mode=0o600)
        assert result.command == "upload .kamalnb-test/web.env (9 bytes, mode 0600)"
        assert ssh.run(host, cmd("stat", "-c", "%a", ".kamalnb-test/web.env")).stdout == "600\n"
        assert ssh.run(host, cmd("cat", ".kamalnb-test/web.env")).stdout == "SECRET=1\n"
    finally:
        ssh.run(host, cmd("rm", "-rf", ".kamalnb-test"))


def test_stdin_reaches_the_command(ssh, addresses):
    result = ssh.run(addresses[0], Command(("cat",), stdin=Secret("password\n")))
    assert result.stdout == "password\n"
    assert result.command == "cat"


def test_http_over_a_tunnel_to_the_hosts_loopback(ssh, addresses):
    host = addresses[0]
    start = ("mkdir -p .kamalnb-test/www && echo hello > .kamalnb-test/www/index.html && "
             "(busybox httpd -f -p 127.0.0.1:18080 -h .kamalnb-test/www >/dev/null 2>&1 & echo $! > .kamalnb-test/pid)")
    ssh.run(host, cmd("sh", "-c", start))
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                response = ssh.http(host, "GET", "127.0.0.1", 18080, "/index.html", timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert (response.status, response.text) == (200, "hello\n")
    finally:
        ssh.run(host, cmd("sh", "-c", "kill $(cat .kamalnb-test/pid); rm -rf .kamalnb-test"))


PIECES = [*"aZ09 \t\n'\"$;`*?[]{}()<>|&\\!#~%^=,.-_/", "é", "中", "$HOME", "$(id)", "${x:-y}", "*.txt", "-n"]
ARGUMENT = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=60, deadline=None)
@given(argv=st.lists(ARGUMENT, max_size=6))
def test_arguments_arrive_intact(shared, addresses, argv):
    received = shared.run(addresses[0], cmd("printf", "%s\\0", "start", *argv)).stdout
    assert received.split("\0")[:-1] == ["start", *argv]
