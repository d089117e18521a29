"""Platform detection on a real server: each provider's markers, set for real on a sandbox.

Managed services and operators are recognised by settings, roles and functions only they
create. Those are written into a configuration file the sandbox includes (a setting no
loaded module defines is a placeholder, as a provider's would be without its module) or
created as roles, then the same probe a scan runs reads them over a connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from psycopg import sql
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.platform.model import Platform, PlatformKind
from vecpatch.probe.collect import ProbeRequest, probe_target
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory

pytestmark = [pytest.mark.sandbox]

MARKER_FILE = "platform-markers.conf"

# kind -> (settings written to the config, roles created, functions created)
MARKERS: dict[PlatformKind, tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]] = {
    PlatformKind.RDS: ({"rds.extensions": "vector"}, ("rds_superuser",), ()),
    PlatformKind.AURORA: ({"rds.extensions": "vector"}, ("rds_superuser",), ("aurora_version",)),
    PlatformKind.CLOUDSQL: ({"cloudsql.iam_authentication": "on"}, ("cloudsqlsuperuser",), ()),
    PlatformKind.ALLOYDB: ({"alloydb.iam_authentication": "on"}, ("alloydbsuperuser",), ()),
    PlatformKind.AZURE: ({"azure.extensions": "vector"}, ("azure_pg_admin",), ()),
    PlatformKind.SUPABASE: ({"supautils.reserved_roles": "authenticator"}, ("supabase_admin",), ()),
    PlatformKind.NEON: ({"neon.timeline_id": "0f1e2d3c"}, ("neon_superuser",), ()),
    PlatformKind.CLOUDNATIVEPG: (
        {
            "cnpg.config_sha256": "4f2a",
            "archive_command": "/controller/manager wal-archive --log-destination "
            "/controller/log/postgres.json %p",
        },
        ("streaming_replica",),
        (),
    ),
}


@pytest.fixture(scope="module")
def server(sandbox_factory: SandboxFactory) -> Iterator[Sandbox]:
    sb = sandbox_factory.fresh("16.14")
    conf = sb.data_dir / "postgresql.conf"
    conf.write_text(conf.read_text() + f"\ninclude_if_exists '{MARKER_FILE}'\n")
    try:
        yield sb
    finally:
        sandbox_factory.discard(sb)


def _apply(sb: Sandbox, kind: PlatformKind | None) -> None:
    """Write (or clear) one platform's markers and wait until new sessions see them."""
    settings, roles, functions = MARKERS[kind] if kind else ({}, (), ())
    path = sb.data_dir / MARKER_FILE
    path.write_text("".join(f"{k} = '{v}'\n" for k, v in settings.items()))
    path.chmod(0o644)
    with sb.connect() as conn:
        conn.autocommit = True
        for role in {r for _, rs, _ in MARKERS.values() for r in rs}:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
            if role in roles:
                conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        conn.execute("DROP FUNCTION IF EXISTS aurora_version()")
        for fn in functions:
            conn.execute(
                sql.SQL(
                    "CREATE FUNCTION {}() RETURNS text LANGUAGE sql AS $$SELECT '16.4.2'$$"
                ).format(sql.Identifier(fn))
            )
        conn.execute("SELECT pg_reload_conf()")
    for _ in range(100):  # the postmaster re-reads its files asynchronously after the signal
        with sb.connect() as conn:
            seen = {
                k: conn.execute("SELECT current_setting(%s, true)", (k,)).fetchone()
                for k in ("rds.extensions", *settings)
            }
        wanted = {k: v for k, v in settings.items() if k != "archive_command"}  # "(disabled)"
        if all(seen[k] == (v,) for k, v in wanted.items()) and (
            "rds.extensions" in settings or seen["rds.extensions"] in ((None,), ("",))
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"markers of {kind} not visible: {seen}")


def _detected(sb: Sandbox, override: PlatformKind | None = None) -> Platform:
    facts = asyncio.run(probe_target(ProbeRequest("t", sb.dsn(), platform=override)))
    assert facts.failure is None and facts.server is not None, facts.failure
    assert facts.server.platform is not None
    return facts.server.platform


@pytest.mark.parametrize("kind", list(MARKERS), ids=lambda k: k.value)
def test_provider_markers_name_the_platform(server: Sandbox, kind: PlatformKind) -> None:
    _apply(server, kind)
    found = _detected(server)
    assert found.kind is kind, found
    settings, roles, functions = MARKERS[kind]
    for name in [*settings, *roles, *functions]:
        if name != "archive_command":
            assert any(name in e for e in found.evidence), (name, found.evidence)


def test_a_plain_sandbox_is_a_sandbox_and_the_targets_file_wins(server: Sandbox) -> None:
    _apply(server, None)
    found = _detected(server)
    assert found.kind is PlatformKind.SANDBOX and not found.configured
    assert found.evidence == ("cluster_name 'vecpatch-sandbox'",)
    forced = _detected(server, PlatformKind.DEBIAN)
    assert forced.kind is PlatformKind.DEBIAN and forced.configured
    assert "targets file" in forced.evidence[0] and "detected sandbox" in forced.evidence[1]


def test_scan_json_names_the_platform_and_its_evidence(
    server: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _apply(server, PlatformKind.AZURE)
    targets = tmp_path_factory.mktemp("t") / "targets.toml"
    targets.write_text(
        f'[[targets]]\nname = "az"\ndsn = "{server.dsn()}"\n'
        f'[[targets]]\nname = "forced"\ndsn = "{server.dsn()}"\nplatform = "pgdg-apt"\n'
    )
    env = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": ""}
    result = CliRunner().invoke(
        app, ["scan", "--targets", str(targets), "--format", "json", "--no-history"], env=env
    )
    doc = json.loads(result.stdout)
    platforms = {t["name"]: t["server"]["platform"] for t in doc["targets"]}
    assert platforms["az"]["kind"] == "azure"
    assert "setting azure.extensions" in platforms["az"]["evidence"]
    assert platforms["forced"]["kind"] == "pgdg-apt" and platforms["forced"]["configured"]
