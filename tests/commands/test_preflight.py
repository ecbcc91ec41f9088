"""What each host answers before a deploy, and how its answers are read."""

from __future__ import annotations

import pytest

from kamalnb.commands.preflight import host_check, space_check
from kamalnb.facts import EngineInfo
from kamalnb.results import Result
from kamalnb.steps.preflight import HostCheck, parse_host_check, space_read

DF = ("Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
      "/dev/vda         264212084 35430548  {free}      34% /")


def test_host_check_is_one_shell_line() -> None:
    assert str(host_check()) == (
        """sh -c 'info=$(docker info --format "{{.ServerVersion}}|{{.DockerRootDir}}" 2>&1); code=$?; """
        """echo "docker $code"; [ $code = 0 ] || info=$(docker version 2>&1 | grep -v "^ \\|^Client"); """
        """echo "$info" | head -5 | sed "s/^/info /"; df -Pk "${info#*|}" 2>/dev/null | sed "s/^/root /"; """
        """{ df -Pk .kamal || df -Pk .; } 2>/dev/null | sed "s/^/kamal /"'""")


def answer(stdout: str) -> Result:
    return Result("h1", "check", 0, stdout, "")


def tagged(tag: str, text: str) -> str:
    return "".join(f"{tag} {line}\n" for line in text.splitlines())


def test_a_running_engine_with_room() -> None:
    found = parse_host_check(answer("docker 0\n" + tagged("info", "28.1.1|/var/lib/docker")
                                    + tagged("root", DF.format(free=2048)) + tagged("kamal", DF.format(free=10))))
    assert found == HostCheck(0, "28.1.1|/var/lib/docker", "/var/lib/docker", 2048 * 1024, 10 * 1024)


def test_a_stopped_engine_keeps_docker_s_reason() -> None:
    found = parse_host_check(answer(
        "docker 1\ninfo Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?\n" + tagged("kamal", DF.format(free=10))))
    assert found.docker_status == 1 and found.docker_root is None and found.docker_free is None
    assert found.docker_output.startswith("Cannot connect to the Docker daemon")


def test_no_answer_is_an_unexpected_answer() -> None:
    with pytest.raises(ValueError, match="no answer from the checks"):
        parse_host_check(answer("sh: 1: syntax error\n"))


def test_an_engine_that_answered_is_asked_only_for_room() -> None:
    assert str(space_check("/srv/docker data")) == (
        """sh -c 'df -Pk '\\''/srv/docker data'\\'' 2>/dev/null | sed "s/^/root /"; """
        """{ df -Pk .kamal || df -Pk .; } 2>/dev/null | sed "s/^/kamal /"'""")
    read = space_read(EngineInfo("28.1.1", 3, "/var/lib/docker"), ".kamal")
    found = read.parse(answer(tagged("root", DF.format(free=2048)) + tagged("kamal", DF.format(free=10))))
    assert found == HostCheck(0, "28.1.1|/var/lib/docker", "/var/lib/docker", 2048 * 1024, 10 * 1024)
