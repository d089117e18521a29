"""The scan's JSON document (schema documented in ``docs/scan-json.md``)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from typing import Any

from vecpatch import __version__
from vecpatch.probe.facts import DatabaseFacts, ServerFacts
from vecpatch.report.model import SCHEMA_VERSION, DatabaseReport, ScanReport, TargetReport


def to_document(report: ScanReport) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    counts = Counter(f.severity for f in report.findings())
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "vecpatch", "version": __version__},
        "run_id": report.run_id,
        "generated_at": report.generated_at.isoformat(),
        "catalog": {
            "generated_at": report.catalog_generated_at.isoformat(),
            "age_days": report.catalog_age_days,
        },
        "warnings": list(report.warnings),
        "summary": {
            "targets": len(report.targets),
            "databases": report.database_count(),
            "findings": dict(sorted(counts.items())),
            "unscanned": len(report.unscanned()),
        },
        "targets": [_target(t) for t in report.targets],
    }


def render(report: ScanReport) -> str:
    return json.dumps(to_document(report), indent=2, sort_keys=False) + "\n"


def _target(t: TargetReport) -> dict[str, Any]:
    return {
        "name": t.target,
        "environment": t.environment,
        "tags": list(t.tags),
        "host": t.host,
        "port": t.port,
        "reachable": t.failure is None,
        "failure": _failure(t.failure),
        "server": _server(t.server),
        "host_facts": _host(t),
        "findings": [f.to_dict() for f in t.findings],
        "databases": {db.name: _database(db) for db in t.databases},
    }


def _failure(failure: Any) -> dict[str, str] | None:
    if failure is None:
        return None
    return {"kind": failure.kind.value, "reason": failure.reason}


def _server(server: ServerFacts | None) -> dict[str, Any] | None:
    if server is None:
        return None
    data = asdict(server)
    data["started_at"] = server.started_at.isoformat()
    data["major"] = server.major
    return data


def _host(t: TargetReport) -> dict[str, Any] | None:
    if t.host_facts is None:
        return None
    data: dict[str, Any] = json.loads(json.dumps(asdict(t.host_facts), default=_iso))
    return data


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _database(db: DatabaseReport) -> dict[str, Any]:
    return {
        "reachable": db.failure is None,
        "failure": _failure(db.failure),
        **(_facts(db.facts) if db.facts else {}),
        "findings": [f.to_dict() for f in db.findings],
    }


def _facts(facts: DatabaseFacts) -> dict[str, Any]:
    pv = facts.pgvector
    return {
        "pgvector": {
            "installed": pv.installed,
            "installed_version": pv.installed_version,
            "schema": pv.schema,
            "owner": pv.owner,
            "default_version": pv.default_version,
            "available_versions": list(pv.available_versions),
            "update_paths": [{"target": p.target, "path": list(p.path)} for p in pv.update_paths],
        },
        "columns": [asdict(c) for c in facts.columns],
        "indexes": [asdict(i) for i in facts.indexes],
        "settings": [asdict(s) for s in facts.settings],
        "extensions": facts.extensions,
        "languages": list(facts.languages),
        "privileges": asdict(facts.privileges),
    }
