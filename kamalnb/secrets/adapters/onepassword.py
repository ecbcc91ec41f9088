"""1Password, through the `op` CLI."""

from __future__ import annotations

from typing import Any

from kamalnb.config.ruby import optionize
from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


def _options(**options: Any) -> str:
    return " ".join(optionize({key: value for key, value in options.items() if value is not None}))


class OnePassword(Adapter):
    """Names are `vault/item[/field]` (or `op://...`); the field defaults to `password`."""

    tool, tool_name = "op", "1Password CLI"

    def login(self, account: str | None) -> Any:
        if self.sh(f"op account get --account {self.esc(account or '')} 2> /dev/null").ok:
            return None
        result = self.sh(f"op signin {_options(account=account, force=True, raw=True)}")
        if not result.ok:
            raise ConfigError("Failed to login to 1Password")
        return result.stdout.strip() or None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        results: dict[str, str] = {}
        if not secrets:
            vault, _, item = (from_ or "").removeprefix("op://").partition("/")
            item = item.split("/")[0]
            data = self.parse_json(self._item_get(vault, item, None, account, session), "op item get")
            results.update(self._fields_map(data.get("fields") or []))
            return results
        wanted: dict[str, dict[str, list[str]]] = {}
        for secret in self.prefixed(secrets, from_):
            vault, item, *fields = secret.removeprefix("op://").split("/")
            wanted.setdefault(vault, {}).setdefault(item, []).append(".".join(fields or ["password"]))
        for vault, items in wanted.items():
            for item, fields in items.items():
                data = self.parse_json(self._item_get(vault, item, fields, account, session), "op item get")
                results.update(self._fields_map([data] if len(fields) == 1 else data))
        return results

    def _item_get(self, vault: str, item: str, fields: list[str] | None, account: str | None, session: Any) -> str:
        options: dict[str, Any] = {"vault": vault, "format": "json", "account": account, "session": session or None}
        if fields:
            options["fields"] = ",".join(f"label={field}" for field in fields)
        result = self.sh(f"op item get {self.esc(item)} {_options(**options)}")
        if not result.ok:
            what = f"{', '.join(fields)} " if fields else ""
            raise ConfigError(f"Could not read {what}from {item} in the {vault} 1Password vault")
        return result.stdout

    @staticmethod
    def _fields_map(fields: list[dict[str, Any]]) -> dict[str, Any]:
        mapped = {}
        for field in fields:
            reference = str(field.get("reference", "")).removeprefix("op://").removesuffix("/password")
            mapped[reference] = field.get("value")
        return mapped
