"""Table-driven matching over every advisory in the bundled data.

Cases are generated from each range (below, at the edges, inside, above) for every
PostgreSQL major the advisory names, and checked against expectations computed
independently from the raw OSV events (string/int arithmetic, not the matcher).
Hand-written cases below guard against a shared mistake in both.
"""

from __future__ import annotations

from typing import Any

import pytest

from vecpatch.catalog.facts import ServerFacts
from vecpatch.catalog.match import evaluate, match
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.snapshot import load_snapshot
from vecpatch.catalog.versions import PgvectorVersion, PgVersion

from .conftest import NOW


def _raw_cases() -> list[tuple[str, str, str, bool, str | None]]:
    """(advisory id, product, version, expected affected, expected fixed) from raw data."""
    cases: list[tuple[str, str, str, bool, str | None]] = []
    for rec in load_snapshot().document["advisories"]:
        for aff in rec["affected"]:
            for rng in aff["ranges"]:
                if rng["type"] == "GIT":
                    continue
                intro = next(e["introduced"] for e in rng["events"] if "introduced" in e)
                fixed = next(e["fixed"] for e in rng["events"] if "fixed" in e)
                if aff["database_specific"]["package"]["name"] == "vector":
                    a, b, c = (int(x) for x in fixed.split("."))
                    cases += [
                        (rec["id"], "pgvector", fixed, False, fixed),
                        (rec["id"], "pgvector", f"{a}.{b}.{c + 1}", False, fixed),
                        (rec["id"], "pgvector", f"{a}.{b + 1}.0", False, fixed),
                    ]
                    if c > 0:
                        cases.append((rec["id"], "pgvector", f"{a}.{b}.{c - 1}", True, fixed))
                    if intro != "0":
                        cases.append((rec["id"], "pgvector", intro, True, fixed))
                        x, y, _ = (int(p) for p in intro.split("."))
                        if y > 0:
                            cases.append((rec["id"], "pgvector", f"{x}.{y - 1}.9", False, fixed))
                    else:
                        cases.append((rec["id"], "pgvector", "0.1.0", True, fixed))
                else:
                    major, minor = fixed.rsplit(".", 1)
                    n = int(minor)
                    cases += [
                        (rec["id"], "postgresql", intro, True, fixed),
                        (rec["id"], "postgresql", f"{major}.{n - 1}", True, fixed),
                        (rec["id"], "postgresql", fixed, False, fixed),
                        (rec["id"], "postgresql", f"{major}.{n + 1}", False, fixed),
                        (rec["id"], "postgresql", f"{major}.{n + 30}", False, fixed),
                        (rec["id"], "postgresql", f"{major}beta2", False, fixed),
                    ]
                    if n > 2:
                        cases.append((rec["id"], "postgresql", f"{major}.{n // 2}", True, fixed))
    return cases


CASES = _raw_cases()


def test_every_advisory_has_cases() -> None:
    ids = {c[0] for c in CASES}
    assert len(ids) == len(load_snapshot().document["advisories"]) == 107
    assert len(CASES) > 1000


@pytest.mark.parametrize(
    ("ident", "product", "version", "affected", "fixed"),
    CASES,
    ids=[f"{c[0]}-{c[2]}" for c in CASES],
)
def test_generated(
    catalog: Catalog, ident: str, product: str, version: str, affected: bool, fixed: str | None
) -> None:
    adv = catalog.advisory(ident)
    assert adv is not None
    facts = (
        ServerFacts(pg_version=PgVersion.parse(version))
        if product == "postgresql"
        else ServerFacts(pgvector_version=PgvectorVersion.parse(version))
    )
    [result] = evaluate(catalog, adv, facts)
    assert result.affected is affected, result.reasons
    if affected:
        assert result.fixed_version == fixed
        assert result.fix_date is not None


HAND: list[tuple[dict[str, Any], str, bool, bool, str | None]] = [
    # (facts, advisory, affected, exposed, fixed on branch)
    ({"pgvector": "0.8.1", "bits": 64}, "CVE-2026-3172", True, True, "0.8.2"),
    ({"pgvector": "0.5.1", "bits": 64}, "CVE-2026-3172", False, False, None),
    ({"pgvector": "0.8.2", "bits": 64}, "CVE-2026-3172", False, False, None),
    ({"pgvector": "0.8.5", "bits": 64}, "CVE-2026-18022", True, False, "0.8.6"),
    ({"pgvector": "0.8.5", "bits": 32}, "CVE-2026-18022", True, True, "0.8.6"),
    ({"pgvector": "0.1.0"}, "CVE-2026-18022", True, True, "0.8.6"),  # bits unknown: assumed
    ({"pg": "16.2"}, "CVE-2026-14678", True, False, "16.15"),
    ({"pg": "16.2", "ext": ["pg_trgm"]}, "CVE-2026-14678", True, True, "16.15"),
    ({"pg": "17.6", "ext": ["pg_trgm"]}, "CVE-2026-2007", False, False, None),
    ({"pg": "18.1", "ext": ["pg_trgm"]}, "CVE-2026-2007", True, True, "18.2"),
    ({"pg": "16.14", "bits": 32, "lang": ["plperl"]}, "CVE-2026-14677", True, True, "16.15"),
    ({"pg": "16.14", "bits": 64, "lang": ["plperl"]}, "CVE-2026-14677", True, False, "16.15"),
    ({"pg": "16.14", "bits": 32}, "CVE-2026-14677", True, False, "16.15"),
    ({"pg": "9.6.24"}, "CVE-2026-6473", True, True, None),  # EOL branch, not evaluated
    ({"pg": "12.22"}, "CVE-2026-6473", True, True, None),
    ({"pg": "12.22"}, "CVE-2024-4317", False, False, None),  # before 14 unaffected
    ({"pg": "16.4"}, "CVE-2024-7348", False, False, None),
    ({"pg": "16.3"}, "CVE-2024-7348", True, True, "16.4"),
    ({"pg": "13.22"}, "CVE-2026-6476", False, False, None),  # before 17 unaffected
]


@pytest.mark.parametrize(("spec", "ident", "affected", "exposed", "fixed"), HAND)
def test_hand_written(
    catalog: Catalog,
    spec: dict[str, Any],
    ident: str,
    affected: bool,
    exposed: bool,
    fixed: str | None,
) -> None:
    facts = ServerFacts(
        pg_version=PgVersion.parse(spec["pg"]) if "pg" in spec else None,
        pgvector_version=PgvectorVersion.parse(spec["pgvector"]) if "pgvector" in spec else None,
        pointer_bits=spec.get("bits"),
        extensions=frozenset(spec.get("ext", [])),
        languages=frozenset(spec.get("lang", [])),
    )
    found = {m.id: m for m in match(catalog, facts, now=NOW)}
    if not affected:
        assert ident not in found
        return
    m = found[ident]
    assert (m.affected, m.exposed, m.fixed_version) == (affected, exposed, fixed), m.reasons
    assert m.reasons


def test_parallel_hnsw_mitigation_is_shown_not_hidden(catalog: Catalog) -> None:
    facts = ServerFacts(
        pgvector_version=PgvectorVersion.parse("0.7.4"),
        pointer_bits=64,
        settings={"max_parallel_maintenance_workers": "0"},
    )
    m = next(x for x in match(catalog, facts, now=NOW) if x.id == "CVE-2026-3172")
    assert m.exposed and m.mitigated
    assert any("max_parallel_maintenance_workers = 0" in s for s in m.mitigations)


def test_future_advisories_hidden_in_the_past(catalog: Catalog) -> None:
    from datetime import UTC, datetime

    facts = ServerFacts(pgvector_version=PgvectorVersion.parse("0.7.4"))
    ids = {m.id for m in match(catalog, facts, now=datetime(2026, 1, 1, tzinfo=UTC))}
    assert "CVE-2026-3172" not in ids
