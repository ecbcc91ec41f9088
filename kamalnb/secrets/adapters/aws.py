"""AWS Secrets Manager, through the `aws` CLI (`--account` is the profile)."""

from __future__ import annotations

import json
from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class AwsSecretsManager(Adapter):
    """Names are secret ids; a JSON object secret yields `<name>/<key>` entries."""

    requires_account = False
    tool, tool_name = "aws", "AWS CLI"

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        ids = self.prefixed(secrets, from_)
        command = f"aws secretsmanager batch-get-secret-value --secret-id-list {' '.join(self.esc(i) for i in ids)}"
        if account:
            command += f" --profile {self.esc(account)}"
        result = self.sh(command + " --output json")
        if not result.ok:
            raise ConfigError(f"Could not read {', '.join(ids)} from AWS Secrets Manager")
        data = self.parse_json(result.stdout, "aws secretsmanager")
        if data.get("Errors"):
            raise ConfigError(" ".join(f"{error.get('SecretId')}: {error.get('Message')}" for error in data["Errors"]))
        results: dict[str, str] = {}
        for secret in data.get("SecretValues") or []:
            name, text = secret["Name"], secret["SecretString"]
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                results[name] = text
                continue
            if isinstance(value, dict):
                for key, item in value.items():
                    results[f"{name}/{key}"] = _stringify(item)
            else:
                results[name] = _stringify(value)
        return results
