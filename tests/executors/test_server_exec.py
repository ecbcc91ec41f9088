"""`kamalnb server exec` against the sandbox."""

from __future__ import annotations

import pytest

from kamalnb.cli.main import main
from kamalnb.commands.base import Command
from kamalnb.executors import SshExecutor, SshSettings

pytestmark = pytest.mark.sandbox

SERVICE = "kamalnb-exec-test"


@pytest.fixture
def deploy_yml(sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VERSION", "999")
    servers = "\n".join(f"  - {host.address}" for host in sandbox.hosts)
    path = tmp_path / "config" / "deploy.yml"
    path.parent.mkdir()
    path.write_text(
        f"service: {SERVICE}\nimage: {SERVICE}\nservers:\n{servers}\n"
        "registry:\n  server: localhost:5555\n"
        "builder:\n  arch: amd64\n"
        f"ssh:\n  config: {sandbox.ssh_config}\n"
    )
    yield path
    with SshExecutor(SshSettings(config=str(sandbox.ssh_config))) as ssh:
        ssh.run_all([host.address for host in sandbox.hosts],
                    Command.from_argv(["rm", "-f", f".kamal/{SERVICE}-audit.log"]))


def test_runs_on_every_host_and_prints_output_under_each_name(deploy_yml, sandbox, capsys):
    assert main(["server", "exec", "-c", str(deploy_yml), "hostname; echo $((6 * 7))"]) == 0
    out = capsys.readouterr().out
    addresses = [host.address for host in sandbox.hosts]
    expected = [f"Running 'hostname; echo $((6 * 7))' on {', '.join(addresses)}..."]
    for host in sandbox.hosts:
        expected += [f"App Host: {host.address}", host.name, "42", ""]
    assert out.splitlines() == expected


def test_records_an_audit_line_per_host(deploy_yml, sandbox, capsys):
    first = sandbox.hosts[0].address
    assert main(["server", "exec", "-c", str(deploy_yml), "-h", first, "--raw", "uname"]) == 0
    assert capsys.readouterr().out == "Linux\n"
    with SshExecutor(SshSettings(config=str(sandbox.ssh_config))) as ssh:
        audit = ssh.run(first, Command.from_argv(["cat", f".kamal/{SERVICE}-audit.log"])).stdout
    assert audit.rstrip().endswith(f"Executed cmd 'uname' on {first}")


def test_a_failing_host_is_reported_and_the_others_still_print(deploy_yml, sandbox, capsys):
    first, second = sandbox.hosts[0], sandbox.hosts[1]
    code = main(["server", "exec", "-c", str(deploy_yml), "-h", f"{first.address},{second.address}", "-q",
                 f"test $(hostname) = {first.name} && echo fine || (echo broken >&2; exit 3)"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines() == ["fine", ""]
    assert f"ERROR: {second.address}: " in captured.err
    assert "exited with status 3\n  broken" in captured.err
