"""Passbolt, through the `passbolt` CLI. Names are `[folder/...]name`."""

from __future__ import annotations

import json
from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


def _quoted(value: str) -> str:
    return json.dumps(value)


class Passbolt(Adapter):
    requires_account = False
    tool, tool_name = "passbolt", "Passbolt CLI"

    def login(self, account: str | None) -> Any:
        if not self.sh("passbolt verify").ok:
            raise ConfigError("Failed to login to Passbolt")
        return None

    def _folders(self, secrets: list[str]) -> list[dict[str, Any]]:
        paths: list[list[str]] = []
        for secret in secrets:
            if "/" in secret and secret.split("/")[:-1] not in paths:
                paths.append(secret.split("/")[:-1])
        if not paths:
            return []
        parents = list(dict.fromkeys(path[0] for path in paths))
        condition = " || ".join(f"Name == {_quoted(self.esc(name))}" for name in parents)
        result = self.sh(f"passbolt list folders --filter '{condition}' --json")
        if not result.ok:
            raise ConfigError("Could not read folders from Passbolt")
        top = self.parse_json(result.stdout, "passbolt list folders")
        folders = list(top)
        for path in paths:
            parent: dict[str, Any] | None = next((folder for folder in top if folder.get("name") == path[0]), None)
            for name in path[1:]:
                if parent is None:
                    break
                condition = (f"Name == {_quoted(self.esc(name))} "
                             f"&& FolderParentID == {_quoted(self.esc(str(parent['id'])))}")
                nested_result = self.sh(f"passbolt list folders --filter '{condition}' --json")
                if not nested_result.ok:
                    continue
                nested = self.parse_json(nested_result.stdout, "passbolt list folders")
                if not nested:
                    break
                folders += nested
                parent = nested[0]
        found = [self._path(folder, folders) for folder in folders]
        missing = ["/".join(path) for path in paths if "/".join(path) not in found]
        if missing:
            raise ConfigError(f"Could not find the following folders in Passbolt: {', '.join(missing)}")
        return folders

    def _path(self, folder: dict[str, Any], folders: list[dict[str, Any]]) -> str:
        names = [folder["name"]]
        seen = {id(folder)}
        while str(folder.get("folder_parent_id") or ""):
            parent = next((f for f in folders if f.get("id") == folder.get("folder_parent_id")), None)
            if parent is None or id(parent) in seen:
                break
            seen.add(id(parent))
            names.insert(0, parent["name"])
            folder = parent
        return "/".join(names)

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        secrets = self.prefixed(secrets, from_)
        if not secrets:
            raise ConfigError("No secrets given to fetch")
        folders = self._folders(secrets)
        conditions = []
        for secret in secrets:
            *path, name = secret.split("/")
            if path:
                folder = None
                for depth in range(1, len(path) + 1):
                    match = [f for f in folders if self._path(f, folders) == "/".join(path[:depth])]
                    folder = match[0] if match else folder
                if folder is not None:
                    conditions.append(
                        f"(Name == {_quoted(self.esc(name))} "
                        f"&& FolderParentID == {_quoted(self.esc(str(folder['id'])))})"
                    )
            else:
                conditions.append(f"Name == {_quoted(self.esc(name))}")
        command = "passbolt list resources"
        if conditions:
            command += f" --filter '{' || '.join(conditions)}'"
        command += "".join(f" --folder {self.esc(str(folder['id']))}" for folder in folders)
        result = self.sh(command + " --column name --column password --json")
        if not result.ok:
            raise ConfigError(f"Could not read {', '.join(secrets)} from Passbolt")
        items = self.parse_json(result.stdout, "passbolt list resources")
        names = [item.get("name") for item in items]
        missing = [secret.split("/")[-1] for secret in secrets if secret.split("/")[-1] not in names]
        if missing:
            raise ConfigError(f"Could not find the following secrets in Passbolt: {', '.join(missing)}")
        return {item["name"]: item["password"] for item in items}
