"""The backup's snapshot: counts and dump see the same rows, and no table lock is held."""

from __future__ import annotations

import psycopg

from vecpatch.apply.backup import _counted_in, _exported_snapshot
from vecpatch.apply.model import ApplyOptions
from vecpatch.apply.session import Endpoint
from vecpatch.sandbox.testing import SandboxFactory
from vecpatch.scan import ScanOptions, probe
from vecpatch.targets import resolve_conninfo, targets_from_args


def test_the_snapshot_counts_what_the_dump_sees_and_blocks_no_ddl(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory.fresh("16.4", "0.7.4", sample=True, rows=100)
    [target] = targets_from_args([sb.dsn()])
    info = resolve_conninfo(target)
    assert not isinstance(info, Exception)
    endpoint = Endpoint(target.name, "postgres", info, "vecpatch test")
    [facts] = probe([target], ScanOptions())
    db = facts.databases[0]
    with _exported_snapshot(endpoint) as snapshot:
        sb.run_sql("INSERT INTO items (id, category, embedding) SELECT 1000, category, embedding "
                   "FROM items LIMIT 1")  # fmt: skip
        counted = _counted_in(endpoint, db, snapshot, ApplyOptions())
        # An application's DDL is not queued behind the open snapshot (it holds no lock).
        with psycopg.connect(sb.socket_dsn(), autocommit=True) as app:
            app.execute("SET lock_timeout = '2s'")
            app.execute("ALTER TABLE items ADD COLUMN note text")
    assert counted["row_counts"]["public.items"] == 100  # as of the export, not 101
    assert counted["extversion"] == "0.7.4"
    assert sb.run_sql("SELECT count(*) FROM items") == [(101,)]
