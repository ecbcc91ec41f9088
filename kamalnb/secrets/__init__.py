"""Secrets: `.kamal/secrets*` files (dotenv + `$(command)`), `kamal secrets` verbs, vault adapters."""

from kamalnb.secrets.store import Secrets

__all__ = ["Secrets"]
