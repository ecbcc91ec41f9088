"""Bitwarden Secrets Manager, through the `bws` CLI (access token in BWS_ACCESS_TOKEN)."""

from __future__ import annotations

from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


class BitwardenSecretsManager(Adapter):
    """Names are secret ids, `all`, or `<project id>/all`; results are keyed by secret key."""

    requires_account = False
    tool, tool_name = "bws", "Bitwarden Secrets Manager CLI"

    def login(self, account: str | None) -> Any:
        if not self.sh("bws project list").ok:
            raise ConfigError("Could not authenticate to Bitwarden Secrets Manager. Did you set a valid access token?")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        if not secrets:
            raise ConfigError("You must specify what to retrieve from Bitwarden Secrets Manager")
        secrets = self.prefixed(secrets, from_)
        command = None
        if len(secrets) == 1 and secrets[0] == "all":
            command = "secret list"
        elif len(secrets) == 1 and secrets[0].endswith("/all"):
            command = f"secret list {self.esc(secrets[0].split('/all')[0])}"
        results: dict[str, str] = {}
        if command is None:
            for secret_id in secrets:
                result = self.sh(f"bws secret get {self.esc(secret_id)}")
                if not result.ok:
                    raise ConfigError(f"Could not read {secret_id} from Bitwarden Secrets Manager")
                data = self.parse_json(result.stdout, "bws secret get")
                results[data["key"]] = data["value"]
        else:
            result = self.sh(f"bws {command}")
            if not result.ok:
                raise ConfigError("Could not read secrets from Bitwarden Secrets Manager")
            for data in self.parse_json(result.stdout, "bws secret list"):
                results[data["key"]] = data["value"]
        return results
