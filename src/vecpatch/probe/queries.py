"""The catalog queries a probe runs, one round trip each.

Per database everything comes back as one JSON document from a single statement, so
probing a fleet costs one connection and one query per database. No identifier is
ever interpolated: the only inputs are bound parameters.
"""

from typing import Final

from psycopg import sql

SERVER: Final = sql.SQL(
    """
SELECT json_build_object(
  'version_num', current_setting('server_version_num')::int,
  'version', current_setting('server_version'),
  'version_string', version(),
  'int8_byval', (SELECT typbyval FROM pg_type WHERE oid = 'int8'::regtype),
  'in_recovery', pg_is_in_recovery(),
  'data_checksums', current_setting('data_checksums') = 'on',
  'started_at', pg_postmaster_start_time(),
  'max_parallel_maintenance_workers',
      current_setting('max_parallel_maintenance_workers')::int,
  -- superuser-only without pg_read_all_settings: pg_settings hides the row (NULL), where
  -- current_setting() would fail the whole target for an ordinary scanning role
  'shared_preload_libraries',
      (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'),
  'replicas', (SELECT count(*) FROM pg_stat_replication),
  'replay_lag_seconds', CASE WHEN pg_is_in_recovery() THEN
      extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END
)
"""
)

PACKAGE: Final = sql.SQL(
    """
SELECT json_build_object(
  'default_version', (SELECT default_version FROM pg_available_extensions WHERE name = 'vector'),
  'available_versions', (SELECT coalesce(json_agg(version), '[]')
                         FROM pg_available_extension_versions WHERE name = 'vector'),
  'update_paths', CASE WHEN EXISTS (SELECT FROM pg_available_extensions WHERE name = 'vector')
    THEN (SELECT coalesce(json_agg(json_build_object(
            'source', source, 'target', target, 'path', path)), '[]')
          FROM pg_extension_update_paths('vector') WHERE path IS NOT NULL) END
)
"""
)
"""What is on disk: the same for every database of a server, so read once per server."""

DATABASES: Final = sql.SQL("SELECT datname, datallowconn FROM pg_database ORDER BY datname")
"""Every database on the server (it exists), and whether it accepts connections (scannable)."""

DATABASE: Final = sql.SQL(
    """
WITH vext AS (
  SELECT e.oid, e.extversion, n.nspname, pg_get_userbyid(e.extowner) AS owner, e.extowner
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  WHERE e.extname = 'vector'
), vtypes AS (
  SELECT t.oid FROM pg_type t
  JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
  JOIN vext ON d.refobjid = vext.oid
  WHERE t.typtype = 'b'
), vidx AS (
  SELECT i.*, ic.relname AS iname, ic.reloptions, ic.relnamespace, am.amname
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam
  WHERE am.amname IN ('hnsw', 'ivfflat')
)
SELECT json_build_object(
  'name', current_database(),
  'vector', (SELECT json_build_object('version', extversion, 'schema', nspname, 'owner', owner)
             FROM vext),
  'columns', (
    SELECT coalesce(json_agg(json_build_object(
      'schema', n.nspname, 'table', c.relname, 'column', a.attname, 'type', t.typname,
      'dimensions', CASE WHEN a.atttypmod > 0 THEN a.atttypmod END,
      'rows', CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END,
      'table_bytes', pg_total_relation_size(c.oid))
      ORDER BY n.nspname, c.relname, a.attnum), '[]')
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm', 'f')
      AND (a.atttypid IN (SELECT oid FROM vtypes)
           OR EXISTS (SELECT FROM vidx WHERE vidx.indrelid = c.oid
                      AND a.attnum = ANY (vidx.indkey::int2[])))),
  'indexes', (
    SELECT coalesce(json_agg(json_build_object(
      'schema', n.nspname, 'name', vidx.iname, 'table', tc.relname, 'method', vidx.amname,
      'opclasses', (SELECT json_agg(opc.opcname ORDER BY k.ord)
                    FROM unnest(vidx.indclass::oid[]) WITH ORDINALITY k(oid, ord)
                    JOIN pg_opclass opc ON opc.oid = k.oid),
      'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
                  FROM unnest(vidx.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                  LEFT JOIN pg_attribute a ON a.attrelid = vidx.indrelid AND a.attnum = k.attnum),
      'options', coalesce(to_json(vidx.reloptions), '[]'),
      'bytes', pg_relation_size(vidx.indexrelid),
      'valid', vidx.indisvalid,
      'definition', pg_get_indexdef(vidx.indexrelid))
      ORDER BY n.nspname, vidx.iname), '[]')
    FROM vidx
    JOIN pg_class tc ON tc.oid = vidx.indrelid
    JOIN pg_namespace n ON n.oid = vidx.relnamespace),
  'settings', (
    SELECT coalesce(json_agg(json_build_object(
      'database', d.datname, 'role', r.rolname,
      'name', split_part(cfg, '=', 1), 'value', substr(cfg, strpos(cfg, '=') + 1))), '[]')
    FROM pg_db_role_setting s
    LEFT JOIN pg_database d ON d.oid = s.setdatabase
    LEFT JOIN pg_roles r ON r.oid = s.setrole,
    unnest(s.setconfig) cfg
    WHERE (s.setdatabase = 0
           OR s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))
      AND (cfg LIKE 'hnsw.%' OR cfg LIKE 'ivfflat.%')),
  'foreign_objects', (
    SELECT coalesce(json_agg(o.sig ORDER BY o.sig), '[]') FROM (
      SELECT 'function:' || p.proname || '(' ||
             coalesce((SELECT string_agg(format_type(t, NULL), ',' ORDER BY i)
                       FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i)), '') || ')' AS sig
      FROM pg_proc p, vext
      WHERE p.pronamespace = (SELECT extnamespace FROM pg_extension WHERE oid = vext.oid)
        AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                        AND d.objid = p.oid AND d.deptype = 'e')
      UNION ALL
      SELECT 'type:' || t.typname
      FROM pg_type t, vext
      WHERE t.typnamespace = (SELECT extnamespace FROM pg_extension WHERE oid = vext.oid)
        AND t.typtype IN ('b', 'c', 'd', 'e', 'r') AND t.typcategory <> 'A' AND t.typrelid = 0
        AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                        AND d.objid = t.oid AND d.deptype = 'e')
    ) o),
  'extensions', (SELECT coalesce(json_object_agg(extname, extversion), '{}') FROM pg_extension),
  'languages', (SELECT coalesce(json_agg(lanname ORDER BY lanname), '[]')
                FROM pg_language WHERE lanispl),
  'privileges', (
    SELECT json_build_object(
      'role', current_user,
      'superuser', r.rolsuper,
      'can_update_extension', r.rolsuper OR coalesce(
          (SELECT pg_has_role(current_user, vext.extowner, 'MEMBER') FROM vext), false),
      'can_create_in_database', has_database_privilege(current_database(), 'CREATE'),
      'read_all_stats', pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),
      'signal_backend', pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'),
      'read_server_files', pg_has_role(current_user, 'pg_read_server_files', 'MEMBER'))
    FROM pg_roles r WHERE r.rolname = current_user)
)
"""
)

IDENTITY: Final = sql.SQL(
    """
SELECT has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE'),
       host(inet_server_addr()), inet_server_port()
"""
)
"""Whether the role may read the system identifier, and the address the server answered on
(NULL over a Unix socket)."""

SYSTEM_IDENTIFIER: Final = sql.SQL("SELECT system_identifier::text FROM pg_control_system()")
"""Run only where ``IDENTITY`` said the role may: a refusal would abort the probe."""
