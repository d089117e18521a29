"""``evidence.md``: the change record of one apply, for a human reading it after the fact.

It opens with what a change-review asks first — outcome, when, who, where, which versions,
how long, how to undo — then one table of databases, and a section per database only
where there is something to say (reasons, steps, checks, SQL, backup, sessions, soak).
Values are words and tables, never JSON blobs or ``None``; ``evidence.json`` holds the
same facts for machines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

COMMITTED = {"applied", "failed", "rolled_back"}


def _cell(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    heads = list(headers)
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _when(text: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return _cell(text)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(doc: Mapping[str, Any]) -> str:
    try:
        start = datetime.fromisoformat(str(doc["started_at"]))
        end = datetime.fromisoformat(str(doc["finished_at"]))
    except (KeyError, ValueError):
        return "–"
    return f"{(end - start).total_seconds():.1f} s"


def _changed(db: Mapping[str, Any]) -> bool:
    """A database this run did something to or said something about."""
    return bool(db.get("from") or db.get("to") or db.get("steps") or db.get("reasons"))


def _versions(dbs: list[Mapping[str, Any]]) -> str:
    pairs = sorted({f"{db.get('from') or '–'} → {db.get('to') or '–'}" for db in dbs})
    return ", ".join(pairs) if pairs else "–"


def summary(doc: Mapping[str, Any]) -> list[str]:
    dbs = [db for db in doc.get("databases", []) if _changed(db)]
    targets = sorted({str(db.get("target")) for db in doc.get("databases", [])})
    committed = any(db.get("outcome") in COMMITTED and db.get("committed_at") for db in dbs)
    rows = [
        ("Outcome", f"**{doc.get('outcome')}**"),
        ("When", f"{_when(doc.get('started_at'))} → {_when(doc.get('finished_at'))}"),
        ("Duration", _seconds(doc)),
        ("Operator", doc.get("operator")),
        ("Targets", ", ".join(targets)),
        ("Databases", f"{len(dbs)} changed or refused of {len(doc.get('databases', []))}"),
        ("pgvector", _versions(dbs)),
    ]
    if committed:
        rows.append(("Rollback", f"`vecpatch rollback {doc.get('run_id')} --targets FILE`"))
    return _table(["", ""], rows)


def _steps(db: Mapping[str, Any]) -> list[str]:
    rows = [
        (s.get("name"), s.get("outcome"), f"{float(s.get('duration_seconds') or 0):.1f} s",
         s.get("detail"))
        for s in db.get("steps", [])
    ]  # fmt: skip
    return ["### Steps", "", *_table(["Step", "Outcome", "Took", "Detail"], rows)] if rows else []


def _checks(db: Mapping[str, Any]) -> list[str]:
    rows = [
        (c.get("name"), "skipped" if c.get("skipped") else "pass" if c.get("ok") else "FAIL",
         c.get("detail"))
        for c in db.get("checks", [])
    ]  # fmt: skip
    return ["### Checks", "", *_table(["Check", "Result", "Detail"], rows)] if rows else []


def _database(db: Mapping[str, Any]) -> list[str]:
    lines = [f"## {db.get('target')}/{db.get('database')}", ""]
    if db.get("database_state"):
        lines += [f"Database state: {db['database_state']}", ""]
    for title, key in (("Refusal reasons", "reasons"), ("Warnings", "warnings"),
                       ("Next steps", "next_steps")):  # fmt: skip
        if db.get(key):
            lines += [f"### {title}", "", *[f"- {r}" for r in db[key]], ""]
    lines += _steps(db) + _checks(db)
    if db.get("sql"):
        lines += ["### SQL executed", "", "```sql", *db["sql"], "```", ""]
    if isinstance(db.get("backup"), Mapping):
        lines += ["### Backup", "", *_table(["", ""], db["backup"].items())]
    if db.get("stale_sessions"):
        lines += ["### Sessions started before the update", ""]
        lines += _table(
            ["pid", "application", "since"],
            [(s.get("pid"), s.get("application_name"), s.get("backend_start"))
             for s in db["stale_sessions"]],
        )  # fmt: skip
    if isinstance(db.get("soak"), Mapping):
        lines += ["### Soak", "", *_table(["", ""], db["soak"].items())]
    return lines


def markdown(doc: Mapping[str, Any]) -> str:
    """The change record (see the module docstring)."""
    lines = [f"# vecpatch {doc.get('kind') or 'apply'} {doc.get('run_id')}", "", *summary(doc)]
    lines += [f"- note: {n}" for n in doc.get("notes", [])]
    if doc.get("notes"):
        lines.append("")
    all_dbs = doc.get("databases", [])
    if all_dbs:
        lines += ["## Databases", ""]
        lines += _table(
            ["Database", "From → to", "Outcome", "Reason"],
            [(f"{db.get('target')}/{db.get('database')}",
              f"{db.get('from') or '–'} → {db.get('to') or '–'}" if _changed(db)
              else "not changed", db.get("outcome"), (db.get("reasons") or [""])[0])
             for db in all_dbs],
        )  # fmt: skip
    for db in all_dbs:
        if _changed(db):
            lines += _database(db)
    if doc.get("options"):
        lines += ["## Options", "", *_table(["Option", "Value"], dict(doc["options"]).items())]
    return "\n".join(lines).rstrip() + "\n"
