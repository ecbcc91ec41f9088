"""Enpass, through `enpass-cli` (offline: `--from` is the vault directory)."""

from __future__ import annotations

from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


class Enpass(Adapter):
    """Names are item titles (every password of the item) or `title/label` (one of them)."""

    requires_account = False
    tool, tool_name = "enpass-cli", "Enpass CLI"

    def check_dependencies(self) -> None:
        if not self.sh("enpass-cli version 2> /dev/null").ok:
            raise ConfigError("Enpass CLI is not installed (the `enpass-cli` command was not found)")

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        titles: list[str] = []
        for secret in secrets:
            key, _, value = secret.rpartition("/")
            title = key or value
            if title not in titles:
                titles.append(title)
        result = self.sh(
            f"enpass-cli -json -vault {self.esc(from_ or '')} show {' '.join(self.esc(t) for t in titles)}"
        )
        results: dict[str, str] = {}
        for item in self.parse_json(result.stdout.strip(), "enpass-cli show"):
            title, label, password = item.get("title"), item.get("label"), item.get("password")
            if not title or not password:
                continue
            key = "/".join(part for part in (title, label) if part)
            if title in secrets or key in secrets:
                if key in results:
                    raise ConfigError(f"{key} is present more than once")
                results[key] = password
        return results
