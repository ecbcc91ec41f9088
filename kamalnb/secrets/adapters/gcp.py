"""Google Cloud Secret Manager, through the `gcloud` CLI.

`--account` is `USER` or `USER|SERVICE_ACCOUNT[,SERVICE_ACCOUNT...]` (impersonation chain);
`default` means the active gcloud account. Names are `[project/]name[/version]`.
"""

from __future__ import annotations

import base64
from typing import Any

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter


class GcpSecretManager(Adapter):
    tool, tool_name = "gcloud", "gcloud CLI"

    def _logged_in(self) -> bool:
        return bool(self.parse_json(self.sh("gcloud auth list --format=json").stdout or "[]", "gcloud auth list"))

    def login(self, account: str | None) -> Any:
        if not self._logged_in():
            self.sh("gcloud auth login")
            if not self._logged_in():
                raise ConfigError("could not login to gcloud")
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        user, _, impersonate = (account or "default").partition("|")
        results: dict[str, str] = {}
        for secret in self.prefixed(secrets, from_):
            parts = secret.split("/")
            if len(parts) == 1:
                parts.insert(0, "default")
            project, name = parts[0], parts[1]
            version = parts[2] if len(parts) > 2 else "latest"
            command = ["gcloud", f"secrets versions access {self.esc(version)} --secret={self.esc(name)}"]
            if project != "default":
                command.append(f"--project={self.esc(project)}")
            if user != "default":
                command.append(f"--account={self.esc(user)}")
            if impersonate:
                command.append(f"--impersonate-service-account={self.esc(impersonate)}")
            command.append("--format=json")
            result = self.sh(" ".join(command))
            if not result.ok:
                raise ConfigError(f"Could not read {project}/{name} from Google Secret Manager")
            data = self.parse_json(result.stdout.strip(), "gcloud secrets versions access")
            results[f"{project}/{name}"] = base64.b64decode(data["payload"]["data"]).decode("utf-8")
        return results
