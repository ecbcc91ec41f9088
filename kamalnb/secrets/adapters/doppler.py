"""Doppler, through the `doppler` CLI (`--from project/config` unless DOPPLER_TOKEN is a service token)."""

from __future__ import annotations

import os
from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


class Doppler(Adapter):
    requires_account = False
    tool, tool_name = "doppler", "Doppler CLI"

    def login(self, account: str | None) -> Any:
        if not self.sh("doppler me --json 2> /dev/null").ok and not self.sh("doppler login -y").ok:
            raise ConfigError("Failed to login to Doppler")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        secrets = self.prefixed(secrets, from_)
        flags = ""
        if not os.environ.get("DOPPLER_TOKEN", "").startswith("dp.st"):
            parts = secrets[0].split("/") if secrets else []
            if len(parts) < 2:
                raise ConfigError("Missing project or config from '--from=project/config' option")
            flags = f"-p {self.esc(parts[0])} -c {self.esc(parts[1])}"
        names = " ".join(self.esc(secret.split("/")[-1]) for secret in secrets)
        result = self.sh(f"doppler secrets get {names} --json {flags}")
        if not result.ok:
            raise ConfigError(f"Could not read {', '.join(secrets)} from Doppler")
        found = self.parse_json(result.stdout, "doppler secrets get")
        return {name: value["computed"] for name, value in found.items()}
