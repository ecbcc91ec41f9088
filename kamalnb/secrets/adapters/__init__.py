"""Vault adapters for `secrets fetch -a NAME`, each driving its vendor's command-line tool."""

from __future__ import annotations

import importlib

from kamalnb.errors import ConfigError
from kamalnb.secrets.adapters.base import Adapter

# adapter name (as Kamal accepts it) -> module:class
_ADAPTERS = {
    "1password": "onepassword:OnePassword",
    "one_password": "onepassword:OnePassword",
    "bitwarden": "bitwarden:Bitwarden",
    "bitwarden-sm": "bitwarden_sm:BitwardenSecretsManager",
    "bitwarden_secrets_manager": "bitwarden_sm:BitwardenSecretsManager",
    "lastpass": "lastpass:LastPass",
    "last_pass": "lastpass:LastPass",
    "aws_secrets_manager": "aws:AwsSecretsManager",
    "gcp": "gcp:GcpSecretManager",
    "gcp_secret_manager": "gcp:GcpSecretManager",
    "doppler": "doppler:Doppler",
    "passbolt": "passbolt:Passbolt",
    "enpass": "enpass:Enpass",
    "test": "base:TestAdapter",
}


def lookup(name: str) -> Adapter:
    """The adapter called `name` (case-insensitive for the aliases Kamal knows)."""
    target = _ADAPTERS.get(name.lower()) or _ADAPTERS.get(name)
    if target is None:
        raise ConfigError(f"Unknown secrets adapter: {name} (known: {', '.join(sorted(set(_ADAPTERS) - {'test'}))})")
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"kamalnb.secrets.adapters.{module_name}")
    adapter: Adapter = getattr(module, class_name)()
    return adapter


__all__ = ["Adapter", "lookup"]
