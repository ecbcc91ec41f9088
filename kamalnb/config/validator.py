"""Validation by example, with Kamal's messages and key paths.

Each value must have the type of the value at the same place in the section's example
(`schema.py`); strings also accept numbers, booleans and symbols. The first problem found
raises `ConfigError("<key/path>: <problem>")`, exactly as Kamal words it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from kamalnb.config import schema
from kamalnb.config.ruby import present, to_s
from kamalnb.errors import ConfigError

STRING, SYMBOL, INTEGER, FLOAT, BOOLEAN, HASH, ARRAY, NIL = (
    "string", "symbol", "integer", "float", "boolean", "hash", "array", "nil"
)

_DESCRIPTIONS = {
    STRING: "a string",
    SYMBOL: "a symbol",
    INTEGER: "an integer",
    FLOAT: "a float",
    BOOLEAN: "a boolean",
    HASH: "a hash",
    ARRAY: "an array",
    NIL: "a nilclass",
}


def type_of(example: Any) -> str:
    if isinstance(example, bool):
        return BOOLEAN
    if isinstance(example, int):
        return INTEGER
    if isinstance(example, float):
        return FLOAT
    if isinstance(example, dict):
        return HASH
    if isinstance(example, list):
        return ARRAY
    if example is None:
        return NIL
    return STRING


def _stringish(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and not isinstance(value, (date, datetime))


def valid_type(value: Any, kind: str) -> bool:
    if kind in (STRING, SYMBOL):
        return _stringish(value)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == FLOAT:
        return isinstance(value, float)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == HASH:
        return isinstance(value, dict)
    if kind == ARRAY:
        return isinstance(value, list)
    return value is None


class Validator:
    """Walks a section against its example, tracking the key path for messages."""

    allow_extensions = False

    def __init__(self, config: Any, example: Any, context: str) -> None:
        self.config = config
        self.example = example
        self.context = context

    def validate(self) -> None:
        self.validate_against_example(self.config, self.example)

    # -- errors -------------------------------------------------------------------
    def error(self, message: str) -> None:
        prefix = f"{self.context}: " if self.context else ""
        raise ConfigError(f"{prefix}{message}")

    def type_error(self, *kinds: str) -> None:
        descriptions: list[str] = []
        for kind in kinds:
            if _DESCRIPTIONS[kind] not in descriptions:
                descriptions.append(_DESCRIPTIONS[kind])
        self.error("should be " + " or ".join(descriptions))

    def unknown_keys_error(self, keys: list[Any]) -> None:
        noun = "key" if len(keys) == 1 else "keys"
        self.error(f"unknown {noun}: " + ", ".join(to_s(key) for key in keys))

    @contextmanager
    def with_context(self, key: Any) -> Iterator[None]:
        old = self.context
        parts = [part for part in (old, to_s(key)) if part != ""]
        self.context = "/".join(parts)
        try:
            yield
        finally:
            self.context = old

    # -- checks -------------------------------------------------------------------
    def validate_type(self, value: Any, *kinds: str) -> None:
        if not any(valid_type(value, kind) for kind in kinds):
            self.type_error(*kinds)

    @staticmethod
    def extension(key: Any) -> bool:
        return isinstance(key, str) and key.startswith("x-")

    def check_unknown_keys(self, config: dict[Any, Any], example: dict[Any, Any]) -> None:
        unknown = [key for key in config if key not in example]
        if self.allow_extensions:
            unknown = [key for key in unknown if not self.extension(key)]
        if unknown:
            self.unknown_keys_error(unknown)

    def validate_against_example(self, config: Any, example: Any) -> None:
        self.validate_type(config, type_of(example))
        if not isinstance(example, dict):
            return
        self.check_unknown_keys(config, example)
        for key, value in config.items():
            if self.extension(key):
                continue
            with self.with_context(key):
                self.validate_value(key, value, example[key])

    def validate_value(self, key: Any, value: Any, example_value: Any) -> None:
        name = to_s(key)
        if example_value == schema.SECTION:
            if not (name == "proxy" and isinstance(value, bool)):
                self.validate_type(value, HASH)
        elif name == "ssl":
            self.validate_type(value, BOOLEAN, HASH)
        elif name == "hooks_output":
            self.validate_hooks_output(value)
        elif key == "hosts":
            self.validate_servers(value)
        elif isinstance(example_value, list):
            if name == "arch":
                self.validate_array_of_or_type(value, type_of(example_value[0]))
            elif name == "config":
                self.validate_ssh_config(value)
            elif name in ("files", "directories"):
                self.validate_paths(value)
            else:
                self.validate_array_of(value, type_of(example_value[0]))
        elif isinstance(example_value, dict):
            if name in ("options", "args"):
                self.validate_type(value, HASH)
            elif name == "labels":
                self.validate_hash_of(value, type_of(next(iter(example_value.values()))))
            else:
                self.validate_against_example(value, example_value)
        else:
            self.validate_type(value, type_of(example_value))

    def validate_array_of_or_type(self, value: Any, kind: str) -> None:
        try:
            if isinstance(value, list):
                self.validate_array_of(value, kind)
            else:
                self.validate_type(value, kind)
        except ConfigError:
            self.type_error(ARRAY, kind)

    def validate_array_of(self, array: Any, kind: str) -> None:
        self.validate_type(array, ARRAY)
        for index, value in enumerate(array):
            with self.with_context(index):
                self.validate_type(value, kind)

    def validate_hash_of(self, mapping: Any, kind: str) -> None:
        self.validate_type(mapping, HASH)
        for key, value in mapping.items():
            with self.with_context(key):
                self.validate_type(value, kind)

    def validate_servers(self, servers: Any) -> None:
        self.validate_type(servers, ARRAY)
        for index, server in enumerate(servers):
            with self.with_context(index):
                self.validate_type(server, STRING, HASH)
                if isinstance(server, dict):
                    if len(server) != 1:
                        self.error("multiple hosts found")
                    host, tags = next(iter(server.items()))
                    with self.with_context(host):
                        self.validate_type(tags, STRING, ARRAY)
                        if isinstance(tags, list):
                            self.validate_array_of(tags, STRING)

    def validate_ssh_config(self, config: Any) -> None:
        if isinstance(config, list):
            self.validate_array_of(config, STRING)
        elif not isinstance(config, (bool, str)):
            self.type_error(BOOLEAN, BOOLEAN, STRING, ARRAY)

    def validate_paths(self, paths: Any) -> None:
        self.validate_type(paths, ARRAY)
        for index, path in enumerate(paths):
            with self.with_context(index):
                self.validate_type(path, STRING, HASH)
                if isinstance(path, dict):
                    for key in ("local", "remote", "mode", "owner", "options"):
                        if key in path:
                            with self.with_context(key):
                                self.validate_type(path[key], STRING)

    def validate_hooks_output(self, value: Any) -> None:
        if isinstance(value, dict):
            for hook, level in value.items():
                with self.with_context(hook):
                    self.validate_type(level, STRING, SYMBOL)
        else:
            self.validate_type(value, STRING, SYMBOL)

    def validate_labels(self, labels: Any) -> None:
        if not present(labels):
            return
        with self.with_context("labels"):
            for key in labels:
                with self.with_context(key):
                    if key in ("destination", "role", "service"):
                        self.error("invalid label. destination, role, and service are reserved labels")

    def validate_docker_options(self, options: Any) -> None:
        if not isinstance(options, dict):
            return
        for key, policy in options.items():
            if to_s(key) != "restart":
                continue
            with self.with_context("options/restart"):
                if not isinstance(policy, str):
                    self.error('should be a string. Use "no" to disable restarts')
                if not re.fullmatch(r"no|always|unless-stopped|on-failure(?::\d+)?", policy):
                    self.error("should be no, always, unless-stopped, on-failure, or on-failure:N")
            return


class ConfigurationValidator(Validator):
    allow_extensions = True

    def validate_value(self, key: Any, value: Any, example_value: Any) -> None:
        if to_s(key) == "servers" and example_value == schema.SECTION:
            self.validate_type(value, ARRAY, HASH)
            return
        super().validate_value(key, value, example_value)


class ServersValidator(Validator):
    def validate(self) -> None:
        self.validate_type(self.config, ARRAY, HASH, NIL)
        if isinstance(self.config, list):
            self.validate_servers(self.config)


class RoleValidator(Validator):
    def validate(self) -> None:
        self.validate_type(self.config, ARRAY, HASH)
        if isinstance(self.config, list):
            self.validate_servers(self.config)
        else:
            super().validate()
            self.validate_labels(self.config.get("labels"))
            self.validate_docker_options(self.config.get("options"))


class AccessoryValidator(Validator):
    def validate(self) -> None:
        super().validate()
        placements = [key for key in ("host", "hosts", "role", "roles", "tag", "tags") if key in self.config]
        if len(placements) != 1:
            self.error("specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
        self.validate_labels(self.config.get("labels"))
        self.validate_docker_options(self.config.get("options"))


class EnvValidator(Validator):
    SPECIAL_KEYS = ("clear", "secret", "tags")

    def validate(self) -> None:
        config = self.config
        if not isinstance(config, dict):
            self.validate_type(config, HASH)
        known = [key for key in config if key in self.SPECIAL_KEYS]
        if not known:
            self.validate_hash_of(config, STRING)
            return
        unknown = [key for key in config if key not in self.SPECIAL_KEYS]
        if unknown:
            self.unknown_keys_error(unknown)
        if "clear" in config:
            with self.with_context("clear"):
                self.validate_hash_of(config["clear"], STRING)
        if "secret" in config:
            with self.with_context("secret"):
                self.validate_array_of(config["secret"], STRING)
        if "tags" in config:
            self.validate_tags(config["tags"])

    def validate_tags(self, tags: Any) -> None:
        if self.context != "env":
            self.error("tags are only allowed in the root env")
        with self.with_context("tags"):
            self.validate_type(tags, HASH)
            for tag, value in tags.items():
                with self.with_context(tag):
                    self.validate_type(value, HASH)
                    EnvValidator(value, self.example, self.context).validate()


class ProxyValidator(Validator):
    def validate(self) -> None:
        config = self.config
        if config is None:
            return
        super().validate()
        if (not present(config.get("host")) and not present(config.get("hosts"))
                and config.get("ssl") not in (None, False)):
            self.error("Must set a host to enable automatic SSL")
        if "host" in config and "hosts" in config:
            self.error("Specify one of 'host' or 'hosts', not both")
        ssl = config.get("ssl")
        if isinstance(ssl, dict):
            if present(ssl.get("certificate_pem")) and not present(ssl.get("private_key_pem")):
                self.error("Missing private_key_pem setting (required when certificate_pem is present)")
            if present(ssl.get("private_key_pem")) and not present(ssl.get("certificate_pem")):
                self.error("Missing certificate_pem setting (required when private_key_pem is present)")
        run = config.get("run")
        if isinstance(run, dict) and run.get("publish") is False and (
                present(run.get("bind_ips")) or present(run.get("http_port")) or present(run.get("https_port"))):
            self.error("Cannot set http_port, https_port or bind_ips when publish is false")


class RegistryValidator(Validator):
    SECRET_KEYS = ("username", "password")

    def validate(self) -> None:
        config = self.config
        if isinstance(config, dict):
            rest = {key: value for key, value in config.items() if key not in self.SECRET_KEYS}
        else:
            rest = config
        example = {key: value for key, value in self.example.items() if key not in self.SECRET_KEYS}
        self.validate_against_example(rest, example)
        for key in self.SECRET_KEYS:
            with self.with_context(key):
                value = config.get(key)
                server = config.get("server")
                if isinstance(server, str) and re.match(r"^localhost[:$]", server):
                    continue
                if not present(value):
                    self.error("is required")
                one_string = isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)
                if not (isinstance(value, str) or one_string):
                    self.error("should be a string or an array with one string (for secret lookup)")


class BuilderValidator(Validator):
    def validate(self) -> None:
        super().validate()
        config = self.config
        cache = config.get("cache")
        if isinstance(cache, dict) and cache.get("type") and cache["type"] not in ("gha", "registry"):
            self.error(f"Invalid cache type: {to_s(cache['type'])}")
        if not present(config.get("arch")):
            self.error("Builder arch not set")
        if config.get("pack") and isinstance(config.get("arch"), list) and len(config["arch"]) > 1:
            self.error("buildpacks only support building for one arch")
        if config.get("local") is False and not present(config.get("remote")):
            self.error("Cannot disable local builds, no remote is set")


# Kamal refuses alias names that shadow one of its top-level commands.
BUILT_IN_COMMANDS = (
    "accessory", "app", "audit", "build", "config", "deploy", "details", "docs", "help", "init",
    "lock", "proxy", "prune", "redeploy", "registry", "remove", "rollback", "secrets", "server",
    "setup", "upgrade", "version",
)


class AliasValidator(Validator):
    def validate(self) -> None:
        super().validate()
        name = self.context.removeprefix("aliases/")
        if not re.fullmatch(r"[a-z0-9_-]+", name):
            self.error(
                f"Invalid alias name: '{name}'. "
                "Must only contain lowercase letters, alphanumeric, hyphens and underscores."
            )
        if name in BUILT_IN_COMMANDS:
            self.error(f"Alias '{name}' conflicts with a built-in command.")


def validate(config: Any, example: Any, context: str, validator: type[Validator] = Validator) -> None:
    validator(config, example, context).validate()
