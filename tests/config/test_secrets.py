"""Secrets files: parsed exactly as Kamal parses them, read lazily, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

import kamalnb
from kamalnb.cli.main import main
from kamalnb.config import env_file_content, load
from kamalnb.errors import ConfigError
from kamalnb.secrets.store import Secrets
from tests.config.conftest import BASE, Case, requires_kamal, run_both, write_project

# Each module runs kamal dozens of times in one fixture.
pytestmark = pytest.mark.timeout(900)

DOTENV = r"""# comment line
A=plain value # trailing comment
B="double \"quoted\" $HOME ${A} \$NOT \n newline"
C='single $A \n # not a comment'
D=$(echo hello $A)
E=\$(echo not run)
F="a#b"
G=a#b
export H=exported
I: colon
J="multi
line"
K=$(printf 'x\ny\n')
L=${KAMALNB_UNDEFINED}end
M=back\\slash
N=$(echo '$A')
O=$(kamal secrets fetch --adapter test --account acc --from vault one LPARENtwoRPAREN)
P=$(kamal secrets extract one $O)
Q="  spaced  "
R=`echo not run`
S=
T="ends with dollar $"
U='it''s'
"""

SECRETS_CASES = [
    Case("dotenv", {"config/deploy.yml": BASE, ".kamal/secrets": DOTENV}, env={"VERSION": "1", "HOME": "/home/x"}),
    Case("destination-files", {
        "config/deploy.yml": BASE,
        "config/deploy.staging.yml": "servers: [1.1.1.1]\n",
        ".kamal/secrets-common": "COMMON=1\nOVERRIDE=common\n",
        ".kamal/secrets": "PLAIN=never read with a destination\n",
        ".kamal/secrets.staging": "OVERRIDE=staging\nSTAGING=yes\n",
    }, args=["-d", "staging"]),
    Case("no-destination-files", {
        "config/deploy.yml": BASE,
        ".kamal/secrets-common": "COMMON=1\nOVERRIDE=common\n",
        ".kamal/secrets": "OVERRIDE=plain\n",
        ".kamal/secrets.staging": "STAGING=not read\n",
    }),
    Case("custom-secrets-path", {
        "config/deploy.yml": BASE + "secrets_path: config/creds\n",
        "config/creds": "X=from custom path\n",
    }),
]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_both(tmp_path_factory.mktemp("secrets"), SECRETS_CASES, ["secrets", "print"])


@requires_kamal
@pytest.mark.parametrize("case", SECRETS_CASES, ids=[case.id for case in SECRETS_CASES])
def test_values_match_kamal_secrets_print(case: Case, printed: dict) -> None:
    kamal, _, root = printed[case.id]
    assert kamal.returncode == 0, kamal.stdout
    destination = case.args[1] if case.args else None
    secrets = load(root=root, destination=destination, environ=case.env).secrets
    ours = "".join(f"{key}={value.reveal()}\n" for key, value in secrets.to_dict().items())
    assert ours == kamal.stdout


@pytest.mark.parametrize("case", SECRETS_CASES, ids=[case.id for case in SECRETS_CASES])
def test_secrets_print_redacts_by_default(case: Case, printed: dict) -> None:
    _, ours, _ = printed[case.id]
    assert ours.returncode == 0, ours.stderr
    lines = ours.stdout.splitlines()
    assert lines and all(line.endswith("=[REDACTED]") for line in lines)


TRICKY = {
    "QUOTES": "say \"hi\" and 'bye'",
    "DOLLAR": "cost $5 and $HOME and ${X}",
    "HASH": "a #hash # here",
    "SPACES": "  two  spaces  ",
    "MIXED": "p@ss \"w\" $x #y z\\w",
}


def _single_quoted(value: str) -> str:
    assert "'" not in value
    return f"'{value}'"


def test_tricky_values_round_trip_byte_exact(tmp_path: Path) -> None:
    lines = [f"{key}={_single_quoted(value)}" for key, value in TRICKY.items() if "'" not in value]
    lines.append("QUOTES=\"say \\\"hi\\\" and 'bye'\"")
    write_project(tmp_path, {
        "config/deploy.yml": BASE + "env:\n  secret: [" + ", ".join(TRICKY) + "]\n",
        ".kamal/secrets": "\n".join(lines) + "\n",
    })
    config = load(root=tmp_path, environ={"VERSION": "1"})
    env = config.role("web").env("1.1.1.1")
    assert {key: value.reveal() for key, value in env.secret_values.items()} == TRICKY
    env_file = env.env_file().reveal()
    assert env_file == (
        'QUOTES=say "hi" and \'bye\'\n'
        "DOLLAR=cost $5 and $HOME and ${X}\n"
        "HASH=a #hash # here\n"
        "SPACES=  two  spaces  \n"
        'MIXED=p@ss "w" $x #y z\\\\w\n'
    )
    assert str(env.env_file()) == "[REDACTED]"


def test_env_file_format_matches_kamal() -> None:
    assert env_file_content({"REDIS_PASSWORD": "secret456", "DB_PASSWORD": 'secret&"123'}) == \
        'REDIS_PASSWORD=secret456\nDB_PASSWORD=secret&"123\n'
    assert env_file_content({"A": "line1\nline2", "B": "tab\there", "C": "#{interp}", "D": "中文"}) == \
        "A=line1\\nline2\nB=tab\\there\nC=#{interp}\nD=中文\n"
    assert env_file_content({}) == "\n"


def test_secrets_never_appear_in_printed_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hunter2-$ecret #x \"y\""
    write_project(tmp_path, {
        "config/deploy.yml": BASE.replace("registry:\n", "registry:\n") + "env:\n  secret: [DB]\n"
        "ssh:\n  key_data: [SSH_KEY]\n",
        ".kamal/secrets": f"KAMAL_REGISTRY_PASSWORD='{secret}'\nDB='{secret}'\nSSH_KEY='{secret}'\n",
    })
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VERSION", "1")
    app = kamalnb.load()
    config = app.config
    assert config.registry.password.reveal() == secret
    outputs = [repr(app), app._repr_html_(), repr(config), repr(config.registry.password),
               str(config.role("web").env("1.1.1.1").secret_values), repr(config.secrets), repr(config.ssh.key_data)]
    assert main(["config"]) == 0
    assert main(["secrets", "print"]) == 0
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err]
    assert "[REDACTED]" in captured.out
    for text in outputs:
        assert "hunter2" not in text


def test_secrets_are_read_lazily(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write_project(tmp_path, {"config/deploy.yml": BASE, ".kamal/secrets": f"X=$(touch {marker} && echo yes)\n"})
    config = load(root=tmp_path, environ={"VERSION": "1"})
    assert config.absolute_image == "registry.example.com/dhh/app:1"
    assert not marker.exists()
    assert config.secrets["X"].reveal() == "yes"
    assert marker.exists()


def test_missing_secret_messages(tmp_path: Path) -> None:
    write_project(tmp_path, {"config/deploy.yml": BASE})
    config = load(root=tmp_path, environ={"VERSION": "1"})
    with pytest.raises(ConfigError) as raised:
        _ = config.registry.password
    assert str(raised.value) == ("Secret 'KAMAL_REGISTRY_PASSWORD' not found, no secret files "
                                 "(.kamal/secrets-common, .kamal/secrets) provided")
    write_project(tmp_path, {".kamal/secrets-common": "A=1\n", ".kamal/secrets": "B=2\n"})
    with pytest.raises(ConfigError) as raised:
        load(root=tmp_path, environ={"VERSION": "1"}).secrets["C"]
    assert str(raised.value) == "Secret 'C' not found in .kamal/secrets-common, .kamal/secrets"


def test_env_secret_aliases_and_merge_order(tmp_path: Path) -> None:
    write_project(tmp_path, {
        "config/deploy.yml": BASE.replace("servers:\n  - 1.1.1.1\n", "servers:\n  web:\n    - 1.1.1.1: [tagged]\n"
                                          "  workers:\n    hosts: [1.1.1.2]\n    env:\n      secret: [DB_PASSWORD]\n")
        + "env:\n  clear:\n    A: root\n  secret: [DB_PASSWORD:MAIN_DB]\n  tags:\n    tagged:\n      A: tag\n",
        ".kamal/secrets": "MAIN_DB=main\nDB_PASSWORD=plain\n",
    })
    config = load(root=tmp_path, environ={"VERSION": "1"})
    web = config.role("web").env("1.1.1.1")
    workers = config.role("workers").env("1.1.1.2")
    assert web.clear == {"A": "tag"}
    assert {k: v.reveal() for k, v in web.secret_values.items()} == {"DB_PASSWORD": "main"}
    assert {k: v.reveal() for k, v in workers.secret_values.items()} == {"DB_PASSWORD": "plain"}
    assert workers.env_file().reveal() == "DB_PASSWORD=plain\n"


def test_unclosed_quote_in_inline_command_is_a_config_error(tmp_path: Path) -> None:
    write_project(tmp_path, {".kamal/secrets": 'X=$(kamal secrets extract A "unclosed)\n'})
    with pytest.raises(ConfigError, match="cannot split"):
        Secrets(root=tmp_path, environ={})["X"]


# -- generated secrets files ----------------------------------------------------------------

TOKENS = ["a", "b c", " ", '"', "'", "\\", "$A", "${A}", "$", "#", "\\n", "=", ":", "$(echo x)", "\\$(echo y)",
          "${B", "$UNSET_VAR", "é", '\\"', "\\'", "`", "(", ")", "}", "{", "\t"]


def _generated_secrets(count: int, seed: int = 7) -> list[Case]:
    import random

    rng = random.Random(seed)
    cases = []
    for index in range(count):
        lines = ["A=first"]
        for key in range(rng.randint(1, 4)):
            value = "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 6)))
            lines.append(f"{rng.choice(['', '', 'export '])}K{key}{rng.choice(['=', '=', ' = ', ': '])}{value}")
        cases.append(Case(f"dotenv-{index}", {"config/deploy.yml": BASE, ".kamal/secrets": "\n".join(lines) + "\n"},
                          env={"VERSION": "1"}))
    return cases


GENERATED_SECRETS = _generated_secrets(40)


@pytest.fixture(scope="module")
def generated_printed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_both(tmp_path_factory.mktemp("dotenv"), GENERATED_SECRETS, ["secrets", "print"])


@requires_kamal
@pytest.mark.parametrize("case", GENERATED_SECRETS, ids=[case.id for case in GENERATED_SECRETS])
def test_generated_secrets_files_parse_as_in_kamal(case: Case, generated_printed: dict) -> None:
    kamal, _, root = generated_printed[case.id]
    try:
        secrets = load(root=root, environ=case.env).secrets.to_dict()
    except ConfigError as error:
        assert kamal.returncode != 0
        assert f"{str(error).split(': ', 1)[1].split(' (export')[0]} (Dotenv::FormatError)" in kamal.stderr
        return
    assert kamal.returncode == 0, kamal.stderr
    assert "".join(f"{key}={value.reveal()}\n" for key, value in secrets.items()) == kamal.stdout
