"""The evidence bundle of one run: JSON for machines, Markdown for the change record.

Everything goes through :func:`vecpatch.redact.redact_value` with the run's resolved
secrets before it touches the disk: the bundle is meant to be attached to tickets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vecpatch.atomic import atomic_write
from vecpatch.redact import redact_value


def write_bundle(folder: Path, doc: dict[str, Any], secrets: tuple[str, ...]) -> Path:
    """Write ``evidence.json`` and ``evidence.md`` into ``folder``; return the folder."""
    clean: dict[str, Any] = redact_value(doc, secrets)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "evidence.json", json.dumps(clean, indent=2, default=str) + "\n")
    atomic_write(folder / "evidence.md", markdown(clean))
    return folder


def markdown(doc: dict[str, Any]) -> str:
    """A readable change record of the run."""
    lines = [
        f"# vecpatch apply {doc['run_id']}",
        "",
        f"- outcome: **{doc['outcome']}**",
        f"- started: {doc['started_at']}  finished: {doc.get('finished_at')}",
        f"- options: `{json.dumps(doc.get('options', {}), default=str)}`",
    ]
    lines += [f"- note: {n}" for n in doc.get("notes", [])]
    for db in doc.get("databases", []):
        lines += ["", f"## {db['target']} / {db['database']}: {db['from']} -> {db['to']}", ""]
        lines.append(f"Outcome: **{db['outcome']}**")
        for title, key in (
            ("Refusal reasons", "reasons"),
            ("Warnings", "warnings"),
            ("Next steps", "next_steps"),
        ):
            if db.get(key):
                lines += ["", f"### {title}", *[f"- {r}" for r in db[key]]]
        lines += ["", "### Steps", "", "| step | outcome | seconds |", "|---|---|---|"]
        lines += [
            f"| {s['name']} | {s['outcome']} | {s['duration_seconds']:.3f} |" for s in db["steps"]
        ]
        if db.get("checks"):
            lines += ["", "### Checks", ""]
            lines += [
                f"- {'PASS' if c['ok'] else 'FAIL'}{' (skipped)' if c['skipped'] else ''} "
                f"{c['name']}: {c['detail']}"
                for c in db["checks"]
            ]
        if db.get("sql"):
            lines += ["", "### SQL executed", "", "```sql", *db["sql"], "```"]
        if db.get("backup"):
            lines += ["", "### Backup", "", f"```json\n{json.dumps(db['backup'], indent=1)}\n```"]
        if db.get("stale_sessions"):
            lines += ["", "### Sessions started before the update"]
            lines += [
                f"- pid {s['pid']} {s['application_name']!r} since {s['backend_start']}"
                for s in db["stale_sessions"]
            ]
        if db.get("soak"):
            lines += ["", "### Soak", "", f"```json\n{json.dumps(db['soak'], indent=1)}\n```"]
    return "\n".join(lines) + "\n"
