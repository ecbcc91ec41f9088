"""Fleet state as pandas DataFrames: what runs where, read from every host in parallel.

    app = kamalnb.load("config/deploy.yml")
    with SshExecutor.from_config(app.config) as ssh:   # connections reused across tables
        state.hosts(app, ssh)
        state.versions(app, ssh)
        state.drift(app, ssh)

Every function takes an `App` (or its `Configuration`) and an executor (None: an SSH
executor from the configuration, opened and closed for that one table), honours the
`hosts=`/`roles=` selection the App was loaded with, and returns a frame with exactly the
columns named in its `*_COLUMNS` constant, also when it is empty. A host that cannot be
read gives a row saying why (`error`; `kind="unreachable"` in drift) instead of failing
the table. docs/fleet-state.md describes every column.
"""

from kamalnb.state.audit import AUDIT_COLUMNS, audit
from kamalnb.state.containers import (
    CONTAINERS_COLUMNS,
    DRIFT_COLUMNS,
    DRIFT_KINDS,
    ROLLBACK_COLUMNS,
    VERSIONS_COLUMNS,
    containers,
    drift,
    rollback_versions,
    versions,
)
from kamalnb.state.engine import HOSTS_COLUMNS, IMAGES_COLUMNS, hosts, images
from kamalnb.state.lock import LOCK_COLUMNS, lock_status
from kamalnb.state.proxy import (
    CERTIFICATES_COLUMNS,
    REQUESTS_COLUMNS,
    ROUTES_COLUMNS,
    certificates,
    requests,
    routes,
)

__all__ = [
    "AUDIT_COLUMNS",
    "CERTIFICATES_COLUMNS",
    "CONTAINERS_COLUMNS",
    "DRIFT_COLUMNS",
    "DRIFT_KINDS",
    "HOSTS_COLUMNS",
    "IMAGES_COLUMNS",
    "LOCK_COLUMNS",
    "REQUESTS_COLUMNS",
    "ROLLBACK_COLUMNS",
    "ROUTES_COLUMNS",
    "VERSIONS_COLUMNS",
    "audit",
    "certificates",
    "containers",
    "drift",
    "hosts",
    "images",
    "lock_status",
    "requests",
    "rollback_versions",
    "routes",
    "versions",
]
