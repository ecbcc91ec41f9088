"""LastPass, through the `lpass` CLI."""

from __future__ import annotations

from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


class LastPass(Adapter):
    """Names are entries' full names (`folder/entry`); values are their passwords."""

    tool, tool_name = "lpass", "LastPass CLI"

    def login(self, account: str | None) -> Any:
        logged_in = self.sh("lpass status --color never").stdout.strip() == f"Logged in as {account}."
        if not logged_in and not self.sh(f"lpass login {self.esc(account or '')}").ok:
            raise ConfigError("Failed to login to LastPass")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        secrets = self.prefixed(secrets, from_)
        result = self.sh(f"lpass show {' '.join(self.esc(s) for s in secrets)} --json")
        if not result.ok:
            raise ConfigError(f"Could not read {', '.join(secrets)} from LastPass")
        results = {item["fullname"]: item["password"] for item in self.parse_json(result.stdout, "lpass show")}
        missing = [secret for secret in secrets if secret not in results]
        if missing:
            raise ConfigError(f"Could not find {', '.join(missing)} in LastPass")
        return results
