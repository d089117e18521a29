"""The planner as a pure function over hand-built facts and the bundled catalog."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.store import load_catalog
from vecpatch.cli.plan import plan_sql
from vecpatch.plan import (
    DatabasePlan,
    Plan,
    PlanPolicy,
    Policy,
    Status,
    build_plan,
    created_objects,
    update_statements,
)
from vecpatch.probe.facts import Failure, FailureKind, TargetFacts

from ..builders import NOW, SUPERUSER, chain, database, replace, server, target


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return load_catalog(root=tmp_path_factory.mktemp("no-cache"))


def one(plan: Plan) -> DatabasePlan:
    (t,) = plan.targets
    (db,) = t.databases
    return db


def make(catalog: Catalog, facts: TargetFacts, policy: PlanPolicy | None = None) -> Plan:
    return build_plan([facts], catalog, policy or PlanPolicy(), NOW)


def test_latest_needs_the_package_and_orders_the_minor_first(catalog: Catalog) -> None:
    plan = make(catalog, target(server("16.4"), database("0.7.4", "0.7.4")))
    t = plan.targets[0]
    db = one(plan)
    assert db.status is Status.PLANNED and (db.installed, db.target) == ("0.7.4", "0.8.6")
    assert db.needs_package and t.package is not None and t.package.version == "0.8.6"
    assert t.pg_minor is not None and t.pg_minor.current == "16.4"
    assert t.pg_minor.target == "16.15" and "CVE-2026-6473" in t.pg_minor.cves_fixed
    assert db.hops[0].version == "0.8.0" and db.hops[-1].version == "0.8.6"
    assert any("postgresql-16-pgvector=0.8.6" in cmd for _, cmd in t.package.instructions)
    assert db.sql == ("ALTER EXTENSION vector UPDATE TO '0.8.6'",)


def test_target_on_disk_uses_the_real_update_path(catalog: Catalog) -> None:
    paths = chain("0.7.4", "0.8.0", "0.8.1", "0.8.5")
    facts = target(server("16.14"), database("0.7.4", "0.8.5", paths=paths))
    db = one(make(catalog, facts, PlanPolicy(Policy.PINNED, "0.8.5")))
    assert db.status is Status.PLANNED and not db.needs_package
    assert db.path == ("0.7.4", "0.8.0", "0.8.1", "0.8.5")


def test_package_hook_placeholders(catalog: Catalog) -> None:
    facts = target(server("16.14"), database("0.7.4", "0.7.4"))
    hook = "ssh {host} sudo install-pgvector {pg_major} {version}"
    plan = build_plan([facts], catalog, PlanPolicy(), NOW, {"t": hook})
    pkg = plan.targets[0].package
    assert pkg is not None
    assert pkg.hook_command == "ssh db.example.internal sudo install-pgvector 16 0.8.6"


@pytest.mark.parametrize(
    ("bits", "expected"),
    [(64, "0.8.2"), (32, "0.8.6")],
)
def test_minimum_safe_depends_on_exposure(catalog: Catalog, bits: int, expected: str) -> None:
    facts = target(server("16.14", bits=bits), database("0.7.4", "0.7.4"))
    db = one(make(catalog, facts, PlanPolicy(Policy.MINIMUM_SAFE)))
    assert db.target == expected


def test_latest_patch_stays_in_its_series(catalog: Catalog) -> None:
    old = target(server(), database("0.7.4", "0.7.4"))
    stays = one(make(catalog, old, PlanPolicy(Policy.LATEST_PATCH)))
    assert stays.status is Status.UP_TO_DATE and stays.target == "0.7.4"
    moves = one(
        make(catalog, target(server(), database("0.8.1", "0.8.1")), PlanPolicy(Policy.LATEST_PATCH))
    )
    assert moves.target == "0.8.6"


def test_downgrade_is_refused(catalog: Catalog) -> None:
    db = one(
        make(
            catalog,
            target(server(), database("0.8.5", "0.8.5")),
            PlanPolicy(Policy.PINNED, "0.8.1"),
        )
    )
    assert db.status is Status.BLOCKED and "downgrade" in db.blockers[0]


def test_cooldown_holds_back_young_releases_but_not_security_fixes(catalog: Catalog) -> None:
    facts = target(server(), database("0.8.1", "0.8.1"))
    kept = one(make(catalog, facts, PlanPolicy(cooldown_days=200)))
    assert kept.target == "0.8.6"  # a security release bypasses the cooldown
    assert any("cooldown" in r for r in kept.reasons)
    strict = one(make(catalog, facts, PlanPolicy(cooldown_days=200, security_bypass=False)))
    assert strict.target == "0.8.2"


def test_colliding_user_function_blocks_and_is_named(catalog: Catalog) -> None:
    assert "function:l2_normalize(vector)" in created_objects("0.6.2", "0.8.5")
    facts = target(
        server("16.2"),
        database(
            "0.6.2",
            "0.8.5",
            paths=chain("0.6.2", "0.8.5"),
            foreign=("function:l2_normalize(vector)", "function:my_helper(vector)"),
        ),
    )
    db = one(make(catalog, facts, PlanPolicy(Policy.PINNED, "0.8.5")))
    assert db.status is Status.BLOCKED
    assert db.collisions == ("function:l2_normalize(vector)",)
    assert any("l2_normalize(vector) already exists in schema public" in b for b in db.blockers)


def test_ivfflat_reindex_after_0_3_0(catalog: Catalog) -> None:
    facts = target(server("14.10"), database("0.3.0", "0.3.0", ivfflat=True))
    db = one(make(catalog, facts, PlanPolicy(Policy.PINNED, "0.3.2")))
    (action,) = db.actions
    assert action.kind == "reindex"
    assert action.sql == 'REINDEX INDEX CONCURRENTLY "public"."items_emb_idx"'


def test_script_edit_on_postgres_12_blocks(catalog: Catalog) -> None:
    facts = target(server("12.22"), database("0.5.1", "0.5.1"))
    db = one(make(catalog, facts))
    assert db.target == "0.7.4"  # the last release for PostgreSQL 12
    assert db.status is Status.BLOCKED
    assert any("vector--0.5.1--0.6.0.sql" in b for b in db.blockers)


def test_replica_and_privileges_and_not_installed(catalog: Catalog) -> None:
    replica = one(make(catalog, target(server(replica=True), database())))
    assert replica.status is Status.REPLICA
    weak = replace(SUPERUSER, role="app", superuser=False, can_update_extension=False)
    blocked = one(make(catalog, target(server(), database(privileges=weak))))
    assert blocked.status is Status.BLOCKED and "cannot ALTER EXTENSION" in blocked.blockers[-1]
    absent = one(make(catalog, target(server(), database(None, "0.7.4"))))
    assert absent.status is Status.NOT_INSTALLED and absent.sql == ()


def test_library_on_disk_newer_than_policy_target_wins(catalog: Catalog) -> None:
    facts = target(server(), database("0.7.4", "0.8.5", paths=chain("0.7.4", "0.8.5")))
    db = one(make(catalog, facts, PlanPolicy(Policy.MINIMUM_SAFE)))
    assert db.target == "0.8.5" and any("on disk" in r for r in db.reasons)


def test_json_and_sql_renderings(catalog: Catalog) -> None:
    plan = make(catalog, target(server("16.4"), database("0.7.4", "0.7.4")))
    doc = json.loads(json.dumps(plan.to_dict()))
    db = doc["targets"][0]["databases"][0]
    assert db["status"] == "planned" and db["sql"] == ["ALTER EXTENSION vector UPDATE TO '0.8.6'"]
    script = plan_sql(plan)
    assert script.index("FIRST update PostgreSQL") < script.index("\\connect app")
    assert "SET lock_timeout = '2000ms';" in script


def test_update_statement_quotes_the_version() -> None:
    assert update_statements("0.8.5'; DROP TABLE x; --") == (
        "ALTER EXTENSION vector UPDATE TO '0.8.5''; DROP TABLE x; --'",
    )


def test_unreachable_target_is_skipped(catalog: Catalog) -> None:
    facts = replace(
        target(server()), server=None, failure=Failure(FailureKind.UNREACHABLE, "refused")
    )
    plan = build_plan([facts], catalog, PlanPolicy(), datetime.now(UTC))
    assert plan.targets[0].skipped == "not scanned: refused" and not plan.targets[0].has_work
