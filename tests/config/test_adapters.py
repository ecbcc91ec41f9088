"""Vault adapters against stand-in CLIs on PATH that answer like the vendors' tools.

Each stand-in logs its argv (and BW_SESSION) and answers from a rule list: the first rule
whose words all appear in argv, in order, gives stdout and the exit status.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from kamalnb.errors import ConfigError
from kamalnb.secrets.commands import extract, fetch, run_inline
from kamalnb.secrets.store import Secrets

FAKE = """#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
tool = os.path.basename(sys.argv[0])
argv = sys.argv[1:]
with open(os.path.join(here, tool + ".log"), "a") as log:
    log.write(json.dumps({{"argv": argv, "session": os.environ.get("BW_SESSION")}}) + "\\n")
for rule in json.load(open(os.path.join(here, tool + ".json"))):
    words, position = rule["match"], 0
    for word in argv:
        if position < len(words) and word == words[position]:
            position += 1
    if position == len(words):
        sys.stdout.write(rule.get("stdout", ""))
        sys.exit(rule.get("exit", 0))
sys.stderr.write("unexpected call: %r\\n" % argv)
sys.exit(3)
"""

TRICKY = 'p@ss "quoted" \'single\' 100$ #hash  two  spaces\\back'


class Tools:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir

    def add(self, tool: str, rules: list[dict[str, Any]]) -> None:
        script = self.bin / tool
        script.write_text(FAKE.format(python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        (self.bin / f"{tool}.json").write_text(json.dumps(rules))

    def calls(self, tool: str) -> list[list[str]]:
        log = self.bin / f"{tool}.log"
        return [json.loads(line)["argv"] for line in log.read_text().splitlines()] if log.exists() else []

    def sessions(self, tool: str) -> list[str | None]:
        return [json.loads(line)["session"] for line in (self.bin / f"{tool}.log").read_text().splitlines()]


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return Tools(bin_dir)


VERSION = {"match": ["--version"], "stdout": "1.0\n"}


def test_onepassword_fields_and_default_password(tools: Tools) -> None:
    tools.add("op", [
        VERSION,
        {"match": ["account", "get"], "exit": 0},
        {"match": ["item", "get", "Item", "--fields", "label=password"],
         "stdout": json.dumps({"reference": "op://Vault/Item/password", "value": TRICKY})},
        {"match": ["item", "get", "Item"], "stdout": json.dumps([
            {"reference": "op://Vault/Item/section/A", "value": "a"},
            {"reference": "op://Vault/Item/B", "value": "b"},
        ])},
        {"match": ["item", "get", "Other"], "stdout": json.dumps({"reference": "op://Vault/Other/password", "value": "o"})},
    ])
    assert fetch(["Item/section/A", "Item/B"], "1password", account="acc", from_="Vault") == {
        "Vault/Item/section/A": "a", "Vault/Item/B": "b"}
    assert fetch(["Vault/Item", "op://Vault/Other"], "1password", account="acc") == {"Vault/Item": TRICKY, "Vault/Other": "o"}
    first_get = next(call for call in tools.calls("op") if call[:2] == ["item", "get"])
    assert first_get == ["item", "get", "Item", "--vault", "Vault", "--format", "json", "--account", "acc",
                         "--fields", "label=section.A,label=B"]


def test_onepassword_signs_in_when_needed(tools: Tools) -> None:
    tools.add("op", [
        VERSION,
        {"match": ["account", "get"], "exit": 1},
        {"match": ["signin"], "stdout": "session-token\n"},
        {"match": ["item", "get"], "stdout": json.dumps({"reference": "op://V/I/password", "value": "x"})},
    ])
    assert fetch(["V/I"], "1password", account="me") == {"V/I": "x"}
    assert ["signin", "--account", "me", "--force", "--raw"] in tools.calls("op")
    assert tools.calls("op")[-1][-4:] == ["--session", "session-token", "--fields", "label=password"]


def test_bitwarden_unlocks_and_reads_login_and_fields(tools: Tools) -> None:
    tools.add("bw", [
        VERSION,
        {"match": ["status"], "stdout": json.dumps({"status": "locked"})},
        {"match": ["unlock", "--raw"], "stdout": "SESSION\n"},
        {"match": ["sync"], "stdout": "Syncing complete.\n"},
        {"match": ["get", "item", "login-item"], "stdout": json.dumps({"login": {"password": TRICKY}})},
        {"match": ["get", "item", "notes"], "stdout": json.dumps({"fields": [{"name": "K1", "value": "v1"},
                                                                           {"name": "K2", "value": "v2"}]})},
    ])
    # `status` answers "locked" again after unlock in this stand-in, so the session is refused.
    with pytest.raises(ConfigError, match="Failed to login to and unlock Bitwarden"):
        fetch(["login-item"], "bitwarden", account="me@example.com")
    tools.add("bw", [
        VERSION,
        {"match": ["status"], "stdout": json.dumps({"status": "unlocked"})},
        {"match": ["sync"], "stdout": ""},
        {"match": ["get", "item", "login-item"], "stdout": json.dumps({"login": {"password": TRICKY}})},
        {"match": ["get", "item", "notes"], "stdout": json.dumps({"fields": [{"name": "K1", "value": "v1"},
                                                                           {"name": "K2", "value": "v2"}]})},
    ])
    assert fetch(["login-item", "notes/K2", "notes/K1"], "bitwarden", account="me@example.com") == {
        "login-item": TRICKY, "notes/K2": "v2", "notes/K1": "v1"}
    with pytest.raises(ConfigError, match="Could not find field K3 in item notes in Bitwarden"):
        fetch(["notes/K3"], "bitwarden", account="me@example.com")


def test_bitwarden_secrets_manager(tools: Tools) -> None:
    tools.add("bws", [
        VERSION,
        {"match": ["project", "list"], "stdout": "[]"},
        {"match": ["secret", "get", "uuid-1"], "stdout": json.dumps({"key": "DB_PASSWORD", "value": TRICKY})},
        {"match": ["secret", "list", "proj"], "stdout": json.dumps([{"key": "A", "value": "1"}, {"key": "B", "value": "2"}])},
    ])
    assert fetch(["uuid-1"], "bitwarden-sm") == {"DB_PASSWORD": TRICKY}
    assert fetch(["all"], "bitwarden-sm", from_="proj") == {"A": "1", "B": "2"}


def test_lastpass(tools: Tools) -> None:
    tools.add("lpass", [
        VERSION,
        {"match": ["status"], "stdout": "Logged in as me@example.com.\n"},
        {"match": ["show"], "stdout": json.dumps([{"fullname": "Shared/DB", "password": TRICKY}])},
    ])
    assert fetch(["DB"], "lastpass", account="me@example.com", from_="Shared") == {"Shared/DB": TRICKY}
    assert tools.calls("lpass")[-1] == ["show", "Shared/DB", "--json"]
    with pytest.raises(ConfigError, match="Could not find Shared/MISSING in LastPass"):
        fetch(["DB", "MISSING"], "lastpass", account="me@example.com", from_="Shared")


def test_aws_secrets_manager_json_and_plain(tools: Tools) -> None:
    tools.add("aws", [
        VERSION,
        {"match": ["secretsmanager", "batch-get-secret-value"], "stdout": json.dumps({
            "SecretValues": [
                {"Name": "app/db", "SecretString": json.dumps({"user": "u", "password": TRICKY, "port": 5432})},
                {"Name": "app/token", "SecretString": "not json at all"},
            ],
            "Errors": [],
        })},
    ])
    assert fetch(["db", "token"], "aws_secrets_manager", account="prod", from_="app") == {
        "app/db/user": "u", "app/db/password": TRICKY, "app/db/port": "5432", "app/token": "not json at all"}
    assert tools.calls("aws")[-1] == ["secretsmanager", "batch-get-secret-value", "--secret-id-list", "app/db", "app/token",
                                      "--profile", "prod", "--output", "json"]


def test_aws_reports_errors(tools: Tools) -> None:
    tools.add("aws", [VERSION, {"match": ["secretsmanager"], "stdout": json.dumps(
        {"SecretValues": [], "Errors": [{"SecretId": "x", "Message": "Secrets Manager can't find the specified secret."}]})}])
    with pytest.raises(ConfigError, match=r"^x: Secrets Manager can't find the specified secret\.$"):
        fetch(["x"], "aws_secrets_manager")


def test_gcp_secret_manager(tools: Tools) -> None:
    payload = base64.b64encode(TRICKY.encode()).decode()
    tools.add("gcloud", [
        VERSION,
        {"match": ["auth", "list"], "stdout": json.dumps([{"account": "me@example.com"}])},
        {"match": ["secrets", "versions", "access"], "stdout": json.dumps({"payload": {"data": payload}})},
    ])
    assert fetch(["my-project/db/3", "token"], "gcp", account="me@example.com|sa@example.com") == {
        "my-project/db": TRICKY, "default/token": TRICKY}
    first = next(call for call in tools.calls("gcloud") if call[:1] == ["secrets"])
    assert first == ["secrets", "versions", "access", "3", "--secret=db", "--project=my-project",
                     "--account=me@example.com", "--impersonate-service-account=sa@example.com", "--format=json"]


def test_doppler(tools: Tools, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOPPLER_TOKEN", raising=False)
    tools.add("doppler", [
        VERSION,
        {"match": ["me"], "stdout": "{}"},
        {"match": ["secrets", "get"], "stdout": json.dumps({"A": {"computed": TRICKY}, "B": {"computed": "b"}})},
    ])
    assert fetch(["A", "B"], "doppler", from_="proj/prd") == {"A": TRICKY, "B": "b"}
    assert tools.calls("doppler")[-1] == ["secrets", "get", "A", "B", "--json", "-p", "proj", "-c", "prd"]
    with pytest.raises(ConfigError, match="Missing project or config"):
        fetch(["A"], "doppler")


def test_passbolt_root_and_folder(tools: Tools) -> None:
    tools.add("passbolt", [
        VERSION,
        {"match": ["verify"], "stdout": "ok\n"},
        {"match": ["list", "folders"], "stdout": json.dumps([{"id": "f1", "name": "prod", "folder_parent_id": ""}])},
        {"match": ["list", "resources"], "stdout": json.dumps([{"name": "DB", "password": TRICKY},
                                                              {"name": "API", "password": "a"}])},
    ])
    assert fetch(["prod/DB", "API"], "passbolt") == {"DB": TRICKY, "API": "a"}
    call = tools.calls("passbolt")[-1]
    assert call[:2] == ["list", "resources"] and "--folder" in call and "f1" in call


def test_enpass(tools: Tools) -> None:
    tools.add("enpass-cli", [
        {"match": ["version"], "stdout": "1\n"},
        {"match": ["show"], "stdout": json.dumps([
            {"title": "App", "label": "DB", "password": TRICKY},
            {"title": "App", "label": "API", "password": "a"},
            {"title": "Other", "label": "", "password": "o"},
        ])},
    ])
    assert fetch(["App/DB", "Other"], "enpass", from_="/vaults/primary") == {"App/DB": TRICKY, "Other": "o"}
    assert tools.calls("enpass-cli")[-1] == ["-json", "-vault", "/vaults/primary", "show", "App", "Other"]


def test_missing_tool_and_account() -> None:
    with pytest.raises(ConfigError, match="1Password CLI is not installed"):
        fetch(["V/I"], "1password", account="a")
    with pytest.raises(ConfigError, match=r"^No value provided for required options '--account'"):
        fetch(["V/I"], "1password")
    with pytest.raises(ConfigError, match="Unknown secrets adapter: vaultx"):
        fetch(["x"], "vaultx")


def test_extract() -> None:
    secrets = json.dumps({"Vault/Item/A": TRICKY, "B": "b"})
    assert extract("A", secrets) == TRICKY
    assert extract("B", secrets) == "b"
    with pytest.raises(ConfigError, match=r"^Could not find secret C$"):
        extract("C", secrets)


def test_inline_fetch_is_shell_escaped_json() -> None:
    out = run_inline(["secrets", "fetch", "--adapter", "test", "--account", "a", "--from", "v", "one"])
    assert out == '\\{\\"v/one\\":\\"eno/v\\"\\}'


def test_secrets_file_fetch_and_extract_round_trip(tools: Tools, tmp_path: Path) -> None:
    tools.add("op", [
        VERSION,
        {"match": ["account", "get"]},
        {"match": ["item", "get"], "stdout": json.dumps([
            {"reference": "op://Vault/Item/DB_PASSWORD", "value": TRICKY},
            {"reference": "op://Vault/Item/TOKEN", "value": "t0k3n"},
        ])},
    ])
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text(
        "SECRETS=$(kamal secrets fetch --adapter 1password --account acc --from Vault/Item DB_PASSWORD TOKEN)\n"
        "DB_PASSWORD=$(kamal secrets extract DB_PASSWORD ${SECRETS})\n"
        "TOKEN=$(kamal secrets extract TOKEN $SECRETS)\n"
    )
    secrets = Secrets(root=tmp_path, environ={})
    assert secrets["DB_PASSWORD"].reveal() == TRICKY
    assert secrets["TOKEN"].reveal() == "t0k3n"


def test_fetched_values_expand_variables_as_in_kamal(tools: Tools, tmp_path: Path) -> None:
    """Kamal expands `$NAME` in a command's output too; a fetched `$HOME` becomes the home dir."""
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text(
        "S=$(kamal secrets fetch --adapter test --account a EMOH$)\nX=$(kamal secrets extract EMOH$ $S)\n"
    )
    assert Secrets(root=tmp_path, environ={"HOME": "/home/me"})["X"].reveal() == "/home/me"
