"""Bitwarden password manager, through the `bw` CLI."""

from __future__ import annotations

from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


class Bitwarden(Adapter):
    """Names are `item` (its login password) or `item/field` (a custom field)."""

    tool, tool_name = "bw", "Bitwarden CLI"

    def _bw(self, command: str, session: str | None = None) -> Any:
        prefix = f"BW_SESSION={self.esc(session)} " if session else ""
        return self.sh(f"{prefix}bw {command}")

    def _status(self, session: str | None = None) -> str:
        return self.parse_json(self._bw("status", session).stdout.strip(), "bw status").get("status", "")

    def login(self, account: str | None) -> Any:
        session = None
        status = self._status()
        if status == "unauthenticated":
            self._bw(f"login {self.esc(account or '')}")
            status = self._status()
        if status == "locked":
            session = self._bw("unlock --raw").stdout.strip() or None
            status = self._status(session)
        if status != "unlocked":
            raise ConfigError("Failed to login to and unlock Bitwarden")
        if not self._bw("sync", session).ok:
            raise ConfigError("Failed to sync Bitwarden")
        return session

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        items: dict[str, list[str]] = {}
        for secret in self.prefixed(secrets, from_):
            item, *rest = secret.split("/")
            items.setdefault(item, [])
            if rest:
                items[item].append(rest[0])
        results: dict[str, str] = {}
        for item, fields in items.items():
            result = self._bw(f"get item {self.esc(item)}", session)
            if not result.ok:
                raise ConfigError(f"Could not read {item} from Bitwarden")
            data = self.parse_json(result.stdout.strip(), "bw get item")
            password = (data.get("login") or {}).get("password")
            if fields:
                results.update(self._fields(fields, item, data))
            elif password:
                results[item] = password
            elif data.get("fields"):
                results.update(self._fields([field["name"] for field in data["fields"]], item, data))
            else:
                raise ConfigError(f"Item {item} is not a login type item and no fields were specified")
        return results

    @staticmethod
    def _fields(fields: list[str], item: str, data: dict[str, Any]) -> dict[str, str]:
        found = {}
        for field in fields:
            match = next((f for f in data.get("fields") or [] if f.get("name") == field), None)
            if match is None:
                raise ConfigError(f"Could not find field {field} in item {item} in Bitwarden")
            found[f"{item}/{field}"] = match.get("value")
        return found
