"""The scripted executor itself: rules first, then the simulated host, every call recorded."""

from __future__ import annotations

import re

import pytest

from kamalnb.commands.base import Command
from kamalnb.errors import CommandFailed, HostUnreachable
from tests.orchestration.scripted import ScriptedExecutor


def test_rules_answer_first_in_order_per_host_and_a_limited_number_of_times():
    executor = ScriptedExecutor()
    executor.on("echo", hosts=["a"], stdout="from a\n", times=1)
    executor.on(re.compile(r"^echo"), stdout="from any\n")
    assert executor.run("a", Command(("echo", "hi"))).stdout == "from a\n"
    assert executor.run("a", Command(("echo", "hi"))).stdout == "from any\n"
    assert executor.run("b", Command(("echo", "hi"))).stdout == "from any\n"
    assert executor.run("b", Command(("uptime",))).stdout == ""  # unmatched: success, no output
    assert executor.commands("a") == ["echo hi", "echo hi"] and executor.hosts == ["a", "b"]


def test_rules_fail_raise_or_only_observe():
    executor = ScriptedExecutor()
    seen = []
    executor.on("false", exit_status=1, stderr="nope\n")
    executor.on("ssh", raises=lambda host, text: HostUnreachable(host, "No route to host"))
    executor.on(lambda host, text: "docker tag" in text, effect=lambda host, text: seen.append(host))
    with pytest.raises(CommandFailed):
        executor.run("a", Command(("false",)))
    assert executor.run("a", Command(("false",)), check=False).exit_status == 1
    with pytest.raises(HostUnreachable) as unreachable:
        executor.run("b", Command(("ssh",)))
    assert unreachable.value.host == "b"
    executor.run("c", Command(("docker", "tag", "x:v1", "x:latest")))
    assert seen == ["c"] and executor.host("c").tags == {"x:latest": "x:v1"}  # observed, then simulated


def test_the_lock_directory_can_be_made_once_until_it_is_removed():
    executor = ScriptedExecutor()
    acquire = Command(("mkdir", ".kamal/lock-x", "&&", "echo", '"TG9ja2Vk\n"', ">", ".kamal/lock-x/details"))
    status = Command(("stat", ".kamal/lock-x", ">", "/dev/null", "&&", "cat", ".kamal/lock-x/details", "|",
                      "base64", "-d"))
    release = Command(("rm", ".kamal/lock-x/details", "&&", "rm", "-r", ".kamal/lock-x"))
    assert "No such file or directory" in executor.run("h", status, check=False).stderr
    assert executor.run("h", acquire).ok
    assert "File exists" in executor.run("h", acquire, check=False).stderr
    assert executor.run("h", status).stdout == "Locked"
    assert executor.run("h", release).ok and executor.run("h", acquire).ok


def test_containers_run_stop_and_answer_health_checks():
    executor = ScriptedExecutor()
    run = Command(("docker", "run", "--detach", "--name", "s-web-v1", "--label", 'role="web"', "--env", 'A="b"',
                   "reg/s:v1"))
    assert executor.run("h", run).ok
    assert executor.run("h", run, check=False).exit_status == 125  # the name is taken
    container = executor.host("h").containers["s-web-v1"]
    assert (container.role, container.image, container.state) == ("web", "reg/s:v1", "running")
    assert executor.http("h", "GET", container.address, 3000, "/up").status == 200
    stop = Command(("docker", "container", "ls", "--all", "--filter", "'name=^s-web-v1$'", "--quiet", "|",
                    "xargs", "docker", "stop"))
    assert executor.run("h", stop).ok and container.state == "exited"
    with pytest.raises(Exception, match="Connection refused"):
        executor.http("h", "GET", container.address, 3000, "/up")
