"""The commented example printed by ``vecpatch targets sample``.

Kept as text (not generated from the model) so the comments can explain intent;
a test loads it to make sure it always validates.
"""

SAMPLE_TOML = """\
# vecpatch targets file. Check it with: vecpatch targets validate FILE
# Secrets are referenced, never required inline:
#   password = "env:NAME"     read from an environment variable
#   password = "file:PATH"    read from a file (relative to this file); trailing newline dropped
#   password = "pgpass"       (or omit) let libpq use ~/.pgpass, PGPASSWORD or the service file

[settings]
# history = "sqlite:////var/lib/vecpatch/history.db"   # or postgresql://…; default: state dir
# fail_on = "high"          # none | low | medium | high | critical
# concurrency = 8           # targets probed at once

# Merged into every target; a key set on a target replaces the default.
[defaults]
connect_timeout = 5         # seconds
statement_timeout = 30      # seconds, applied to every statement vecpatch runs
lock_timeout = 5            # seconds DDL may wait for a lock
timezone = "UTC"            # IANA name; used to read `window`
# reuse_scram_keys = true   # false: never read the role's own verifier in pg_authid (audited)

# Per-environment defaults, applied over [defaults] for targets in that environment.
[environments.production]
window = "sat 02:00-04:00"  # DAYS HH:MM-HH:MM; several joined with ';'
timezone = "Europe/Berlin"

[[targets]]
name = "orders"
environment = "production"
dsn = "postgresql://vecpatch@db1.example.internal:5432/postgres?sslmode=verify-full"
password = "env:ORDERS_DB_PASSWORD"
databases = "all"           # every database that allows connections; or a list of names
exclude_databases = ["template1"]
tags = ["eu"]
wave = 1                    # rollouts go wave by wave, lowest first
package_hook = "ssh {host} sudo apt-get install -y postgresql-{pg_major}-pgvector={version}*"
# platform = "pgdg-apt"     # overrides what the scan infers (debian, rds, docker, ...)
# host_command = "ssh db1"  # host facts (packages, clusters, pending restart); "local" on the host
stakeholders = ["mailto://dba-team@example.com"]

[[targets]]
name = "search-staging"
environment = "staging"
dsn = "service=search-staging"   # a section of pg_service.conf
databases = ["app", "analytics"]
tags = ["eu", "search"]
wave = 0
"""
