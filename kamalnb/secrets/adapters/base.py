"""What every vault adapter does: check the tool is installed, log in, fetch."""

from __future__ import annotations

import json
from typing import Any

from kamalnb.config.ruby import shellescape
from kamalnb.errors import ConfigError
from kamalnb.secrets import local


class Adapter:
    """Subclasses set `tool`/`tool_name` and implement `fetch_secrets` (and `login` if needed)."""

    requires_account = True
    tool = ""
    tool_name = ""

    def fetch(self, secrets: list[str], account: str | None = None, from_: str | None = None) -> dict[str, str]:
        if self.requires_account and not account:
            raise ConfigError("Missing required option '--account'")
        self.check_dependencies()
        session = self.login(account)
        return self.fetch_secrets(secrets, from_=from_, account=account, session=session)

    def check_dependencies(self) -> None:
        if not local.shell(f"{self.tool} --version 2> /dev/null").ok:
            raise ConfigError(f"{self.tool_name} is not installed (the `{self.tool}` command was not found)")

    def login(self, account: str | None) -> Any:
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        raise NotImplementedError

    @staticmethod
    def prefixed(secrets: list[str], from_: str | None) -> list[str]:
        return [f"{from_}/{secret}" if from_ else secret for secret in secrets]

    @staticmethod
    def sh(command: str) -> local.Completed:
        return local.shell(command)

    @staticmethod
    def esc(value: str) -> str:
        return shellescape(value)

    @staticmethod
    def parse_json(text: str, what: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(f"{what} did not return JSON") from None


class TestAdapter(Adapter):
    """Kamal's `test` adapter: each value is its name reversed (LPAREN/RPAREN become parens)."""

    def check_dependencies(self) -> None:
        return None

    def fetch_secrets(self, secrets: list[str], *, from_: str | None, account: str | None,
                      session: Any) -> dict[str, str]:
        return {
            secret: secret.replace("LPAREN", "(").replace("RPAREN", ")")[::-1]
            for secret in self.prefixed(secrets, from_)
        }
