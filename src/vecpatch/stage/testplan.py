"""The staging test plan as data: the shipped YAML, extended or overridden by the user's.

Why data and not code: operators add their own cases (a query that must keep working,
a stricter recall threshold, a case they do not want to gate on) without writing
Python, and the plan itself can be reviewed like any other config. Every problem in a
plan file is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vecpatch.errors import UsageError
from vecpatch.stage.model import CaseSpec, Category

CHECKS = frozenset(
    {
        "update-path", "package", "update", "extversion", "library-loads", "supports-major",
        "schema-parity", "rollback-drill", "type-suite", "aggregates", "behaviours", "index-builds",
        "iterative-scan", "user-queries", "index-recall", "index-latency", "index-build", "sql",
    }
)  # fmt: skip
_KEYS = frozenset(
    {"id", "category", "check", "critical", "description", "expectations", "min_version", "sql",
     "enabled"}
)  # fmt: skip


def default_plan_text() -> str:
    return resources.files("vecpatch.data").joinpath("stage/default_plan.yaml").read_text("utf-8")


def load_plan(user_file: Path | None = None) -> tuple[CaseSpec, ...]:
    """The default plan, with the user's cases added or merged over it by id."""
    docs = _cases(yaml.safe_load(default_plan_text()), "default plan")
    if user_file is not None:
        try:
            raw = yaml.safe_load(user_file.read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"cannot read the plan {user_file}: {exc}") from None
        docs = merge(docs, _cases(raw, str(user_file)))
    errors: list[str] = []
    specs = [spec for doc in docs if (spec := _spec(doc, errors)) is not None]
    if errors:
        raise UsageError("invalid test plan:\n  " + "\n  ".join(errors))
    return tuple(s for s in specs if s.enabled)


def _cases(raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("cases"), list):
        raise UsageError(f"{where}: expected a mapping with a 'cases' list")
    cases = raw["cases"]
    bad = [i for i, c in enumerate(cases) if not isinstance(c, Mapping) or "id" not in c]
    if bad:
        raise UsageError(f"{where}: case(s) {bad} are not mappings with an 'id'")
    return [dict(c) for c in cases]


def merge(base: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases of ``extra`` override same-id cases of ``base`` key by key (expectations too)."""
    out = {str(c["id"]): dict(c) for c in base}
    for case in extra:
        key = str(case["id"])
        merged = {**out.get(key, {}), **case}
        if key in out and isinstance(case.get("expectations"), Mapping):
            merged["expectations"] = {**out[key].get("expectations", {}), **case["expectations"]}
        out[key] = merged
    return list(out.values())


def _spec(doc: Mapping[str, Any], errors: list[str]) -> CaseSpec | None:
    cid = str(doc["id"])
    problems = [f"unknown key {k!r}" for k in doc if k not in _KEYS]
    try:
        category = Category(str(doc.get("category")))
    except ValueError:
        problems.append(f"category must be one of {[c.value for c in Category]}")
        category = Category.REGRESSION
    check = str(doc.get("check", "sql" if doc.get("sql") else ""))
    if check not in CHECKS:
        problems.append(f"unknown check {check!r} (known: {', '.join(sorted(CHECKS))})")
    if check == "sql" and not doc.get("sql"):
        problems.append("check 'sql' needs a 'sql' statement")
    expectations = doc.get("expectations") or {}
    if not isinstance(expectations, Mapping):
        problems.append("expectations must be a mapping")
        expectations = {}
    errors += [f"{cid}: {p}" for p in problems]
    if problems:
        return None
    return CaseSpec(
        id=cid,
        category=category,
        check=check,
        critical=bool(doc.get("critical", True)),
        description=str(doc.get("description", "")),
        expectations=dict(expectations),
        min_version=str(doc["min_version"]) if doc.get("min_version") else None,
        sql=str(doc["sql"]) if doc.get("sql") else None,
        enabled=bool(doc.get("enabled", True)),
    )
