"""SARIF 2.1.0 for code-scanning uploads (GitHub, GitLab, Azure DevOps).

Findings live in databases, not files, so every result points at the targets file
(or a stable pseudo-path when targets came from the command line) and names the
target and database as a logical location. Fingerprints keep a finding stable
across runs so code scanning can track it as the same alert.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from vecpatch import __version__
from vecpatch.findings import Finding
from vecpatch.report.model import ScanReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning"}
_SCORE = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 2.0}


def render(report: ScanReport, artifact: str = "vecpatch-targets.toml") -> str:
    findings = [f for f in report.findings(include_muted=False)]
    rules: dict[str, dict[str, Any]] = {}
    for f in findings:
        rules.setdefault(_rule_id(f), _rule(f))
    ids = list(rules)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vecpatch",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/vecpatch/",
                        "rules": list(rules.values()),
                    }
                },
                "results": [_result(f, ids.index(_rule_id(f)), artifact) for f in findings],
                "columnKind": "utf16CodeUnits",
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _rule_id(f: Finding) -> str:
    return f.id if f.id else f"vecpatch/{f.kind.value}"


def _rule(f: Finding) -> dict[str, Any]:
    score = f.cvss_score if f.cvss_score is not None else _SCORE.get(f.severity, 0.0)
    rule: dict[str, Any] = {
        "id": _rule_id(f),
        "name": f.kind.value.title().replace("_", ""),
        "shortDescription": {"text": f.title if f.id else f.kind.value.replace("_", " ").lower()},
        "fullDescription": {"text": f.title},
        "defaultConfiguration": {"level": _LEVEL.get(f.severity, "note")},
        "properties": {
            "security-severity": f"{score:.1f}",
            "tags": ["security", f.product or "postgresql"],
        },
    }
    if f.id and f.id.startswith("CVE-"):
        rule["helpUri"] = f"https://www.cve.org/CVERecord?id={f.id}"
    return rule


def _result(f: Finding, index: int, artifact: str) -> dict[str, Any]:
    where = f"{f.target}/{f.database}" if f.database else f.target
    fingerprint = hashlib.sha256(f"{where}|{f.kind.value}|{f.id or ''}".encode()).hexdigest()
    return {
        "ruleId": _rule_id(f),
        "ruleIndex": index,
        "level": _LEVEL.get(f.severity, "note"),
        "message": {"text": f"{where}: {f.title}. Next: {f.next_action}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {"name": f.database or f.target, "fullyQualifiedName": where, "kind": "module"}
                ],
            }
        ],
        "partialFingerprints": {"vecpatchFinding/v1": fingerprint},
        "properties": {
            "target": f.target,
            "database": f.database,
            "kind": f.kind.value,
            "affected": f.affected,
            "exposed": f.exposed,
            "fix_version": f.fix_version,
        },
    }
