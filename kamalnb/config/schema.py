"""The shape of every section of deploy.yml, as example values.

Kamal validates "by example": each key's value must have the type of the value in its
documented example. These examples carry only the types (and, for lists, the type of the
items); the validator in `validator.py` reads them the way Kamal reads its docs.

`SECTION` marks a value that is validated by its own section (it must be a hash there).
"""

from __future__ import annotations

from typing import Any

SECTION = "..."

ENV = {
    "clear": {"NAME": "value"},
    "secret": ["SECRET_NAME"],
    "tags": {
        "simple": {"NAME": "value"},
        "complex": {"clear": {"NAME": "value"}, "secret": ["SECRET_NAME"]},
    },
}

LOGGING = {"driver": "json-file", "options": {"max-size": "100m"}}

PROXY = {
    "host": "example.com",
    "hosts": ["example.com"],
    "app_port": 3000,
    "ssl": {"certificate_pem": "CERTIFICATE_PEM", "private_key_pem": "PRIVATE_KEY_PEM"},
    "ssl_redirect": False,
    "forward_headers": True,
    "response_timeout": 10,
    "path_prefix": "/api",
    "path_prefixes": ["/api"],
    "strip_path_prefix": False,
    "healthcheck": {"interval": 3, "path": "/up", "timeout": 3},
    "buffering": {
        "requests": True,
        "responses": True,
        "max_request_body": 40000000,
        "max_response_body": 0,
        "memory": 2000000,
    },
    "logging": {"request_headers": ["Cache-Control"], "response_headers": ["X-Request-ID"]},
    "run": {
        "http_port": 8080,
        "https_port": 8443,
        "metrics_port": 9090,
        "debug": True,
        "log_max_size": "30m",
        "publish": False,
        "bind_ips": ["0.0.0.0"],
        "registry": "registry:4443",
        "repository": "basecamp/kamal-proxy",
        "version": "v0.9.2",
        "options": {"memory": "512m"},
    },
}

REGISTRY = {"server": "ghcr.io", "username": "user", "password": ["KAMAL_REGISTRY_PASSWORD"]}

ROLE = {
    "hosts": ["172.1.0.3"],
    "cmd": "bin/jobs",
    "stop_timeout": 30,
    "options": {"memory": "2g"},
    "logging": SECTION,
    "proxy": SECTION,
    "labels": {"my-label": "workers"},
    "env": SECTION,
    "asset_path": "/public",
}

ACCESSORY = {
    "service": "mysql",
    "image": "mysql:8.0",
    "registry": SECTION,
    "host": "mysql-db1",
    "hosts": ["mysql-db1"],
    "role": "mysql",
    "roles": ["mysql"],
    "tag": "writer",
    "tags": ["writer"],
    "cmd": "bin/mysqld",
    "port": "127.0.0.1:3306:3306",
    "labels": {"app": "myapp"},
    "options": {"cpus": 2},
    "env": SECTION,
    "files": [{"local": "config/secret.key", "remote": "/etc/mysql/secret.key"}],
    "directories": [{"local": "mysql-data", "remote": "/var/lib/mysql"}],
    "volumes": ["/path/to/mysql-logs:/var/log/mysql"],
    "network": "custom",
    "proxy": SECTION,
}

BUILDER = {
    "arch": ["amd64"],
    "remote": "ssh://docker@docker-builder",
    "local": True,
    "pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby"]},
    "cache": {"type": "registry", "options": "mode=max", "image": "app-build-cache"},
    "context": ".",
    "dockerfile": "Dockerfile",
    "target": "production",
    "args": {"ENVIRONMENT": "production"},
    "secrets": ["SECRET1"],
    "ssh": "default=$SSH_AUTH_SOCK",
    "driver": "docker-container",
    "provenance": "mode=max",
    "sbom": True,
}

SSH = {
    "user": "app",
    "port": "2222",
    "proxy": "root@proxy-host",
    "proxy_command": "ssh -W %h:%p user@proxy",
    "log_level": "debug",
    "keys_only": False,
    "keys": ["~/.ssh/id.pem"],
    "key_data": ["SSH_PRIVATE_KEY"],
    "config": ["~/.ssh/myconfig"],
    "forward_agent": False,
}

SSHKIT = {"max_concurrent_starts": 10, "pool_idle_timeout": 300, "dns_retries": 3}

BOOT = {"limit": "25%", "wait": 10, "parallel_roles": True}

OUTPUT = {"otel": {"endpoint": "http://otel-gateway:4318"}, "file": {"path": "/var/log/kamal/"}}

ALIAS = "app exec -p -q -r web 'uname -a'"

CONFIGURATION: dict[str, Any] = {
    "service": "myapp",
    "image": "my-image",
    "labels": {"my-label": "my-value"},
    "volumes": ["/path/on/host:/path/in/container:ro"],
    "registry": SECTION,
    "servers": SECTION,
    "env": SECTION,
    "asset_path": "/path/to/assets",
    "hooks_path": ".kamal/hooks",
    "hooks_output": {"pre-deploy": "verbose"},
    "secrets_path": ".kamal/secrets",
    "error_pages_path": "public",
    "require_destination": True,
    "primary_role": "workers",
    "allow_empty_roles": False,
    "retain_containers": 3,
    "minimum_version": "1.3.0",
    "readiness_delay": 4,
    "deploy_timeout": 10,
    "drain_timeout": 10,
    "stop_timeout": 30,
    "run_directory": "/etc/kamal",
    "ssh": SECTION,
    "builder": SECTION,
    "accessories": SECTION,
    "proxy": SECTION,
    "sshkit": SECTION,
    "boot": SECTION,
    "logging": SECTION,
    "output": SECTION,
    "aliases": SECTION,
}
