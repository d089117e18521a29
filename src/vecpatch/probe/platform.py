"""The platform queries: what a connection can see about where the server runs.

Kept apart from the catalog queries because they read settings, roles and (for a
superuser) the ``pg_config`` view, none of which a scan of the databases needs. Every
read is one that cannot fail for an ordinary role and leaves nothing in the server log:
``pg_settings`` hides what the role may not read, ``current_setting(name, true)`` is NULL
for a setting that does not exist, ``pg_stat_file(path, true)`` is NULL for a missing file.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg import sql

from vecpatch.platform.detect import (
    PROVIDER_FUNCTIONS,
    PROVIDER_ROLES,
    PROVIDER_SETTING_PREFIXES,
    PROVIDER_SETTINGS,
)
from vecpatch.platform.model import PlatformMarkers


def _setting(name: str) -> sql.Composable:
    return sql.SQL("(SELECT setting FROM pg_settings WHERE name = {})").format(sql.Literal(name))


MARKERS: Final = sql.SQL(
    """
SELECT json_build_object(
  'version_string', version(),
  'cluster_name', current_setting('cluster_name'),
  'data_directory', {data_directory},
  'config_file', {config_file},
  'hba_file', {hba_file},
  'archive_command', {archive_command},
  'settings', (SELECT coalesce(json_agg(DISTINCT n ORDER BY n), '[]') FROM (
      SELECT name AS n FROM pg_settings WHERE name LIKE ANY ({prefixes})
      UNION SELECT n FROM unnest({names}::text[]) n WHERE current_setting(n, true) <> ''
  ) s),
  'roles', (SELECT coalesce(json_agg(rolname ORDER BY rolname), '[]')
            FROM pg_roles WHERE rolname = ANY ({roles})),
  'functions', (SELECT coalesce(json_agg(DISTINCT proname), '[]')
                FROM pg_proc WHERE proname = ANY ({functions})),
  'superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
)
"""
).format(
    data_directory=_setting("data_directory"),
    config_file=_setting("config_file"),
    hba_file=_setting("hba_file"),
    archive_command=_setting("archive_command"),
    prefixes=sql.Literal([p.replace("_", "\\_") + "%" for p in PROVIDER_SETTING_PREFIXES]),
    names=sql.Literal(list(PROVIDER_SETTINGS)),
    roles=sql.Literal(list(PROVIDER_ROLES)),
    functions=sql.Literal(list(PROVIDER_FUNCTIONS)),
)
"""Readable by any role; privileged settings come back NULL rather than failing."""

SUPERUSER_MARKERS: Final = sql.SQL(
    """
SELECT json_build_object(
  'pg_config', (SELECT json_object_agg(name, setting) FROM pg_config
                WHERE name IN ('BINDIR', 'PKGLIBDIR', 'SHAREDIR', 'CONFIGURE', 'VERSION')),
  'dockerenv', (pg_stat_file('/.dockerenv', true)).size IS NOT NULL
)
"""
)
"""Only for a superuser: ``pg_config`` and ``pg_stat_file`` are not granted to others, and
a permission error would be written to the server log."""


def markers(doc: dict[str, Any], extra: dict[str, Any] | None = None) -> PlatformMarkers:
    """Build :class:`PlatformMarkers` from the two documents (``extra``: superuser-only)."""
    extra = extra or {}
    config = extra.get("pg_config")
    return PlatformMarkers(
        version_string=str(doc["version_string"]),
        cluster_name=str(doc.get("cluster_name") or ""),
        data_directory=doc.get("data_directory"),
        config_file=doc.get("config_file"),
        hba_file=doc.get("hba_file"),
        archive_command=doc.get("archive_command"),
        settings=tuple(doc.get("settings") or ()),
        roles=tuple(doc.get("roles") or ()),
        functions=tuple(doc.get("functions") or ()),
        pg_config={str(k): str(v) for k, v in config.items()} if config else None,
        dockerenv=extra.get("dockerenv"),
    )


async def read_markers(conn: psycopg.AsyncConnection[Any]) -> PlatformMarkers:
    """One query for everyone, a second one for a superuser."""
    doc = await _fetch(conn, MARKERS)
    extra = await _fetch(conn, SUPERUSER_MARKERS) if doc.get("superuser") else None
    return markers(doc, extra)


async def _fetch(conn: psycopg.AsyncConnection[Any], query: sql.SQL | sql.Composed) -> Any:
    cur = await conn.execute(query)
    row = await cur.fetchone()
    return row[0] if row else {}
