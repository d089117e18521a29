"""``vecpatch report``: the dashboard's views as one file — HTML, Markdown or JSON.

The same rows as the pages (:mod:`vecpatch.web.views`, :mod:`vecpatch.web.triage`), never
a raw dump of the history: the JSON holds the views and the metrics, each once.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from jinja2 import Environment

from vecpatch.web.humane import ago, plain, utc
from vecpatch.web.views import Snapshot, dashboard_context


class ReportFormat(StrEnum):
    html = "html"
    markdown = "markdown"
    json = "json"


def render_report(snapshot: Snapshot, fmt: ReportFormat, env: Environment) -> str:
    context = dashboard_context(snapshot)
    if fmt is ReportFormat.html:
        return env.get_template("report.html").render(static=True, base="#", page="", **context)
    if fmt is ReportFormat.json:
        return json.dumps(_json(snapshot, context), indent=2, sort_keys=True, default=str) + "\n"
    return markdown(snapshot, context)


def _json(snapshot: Snapshot, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "generated_at": snapshot.now.isoformat(),
        "period": context["period"],
        "environment": context["environment"],
        "catalog_age_seconds": context["catalog_age_seconds"],
        **snapshot.triage.to_dict(),
        "runs": [{k: v for k, v in r.items() if k != "facts"} for r in context["runs"]],
        "metrics": context["metrics"],
    }


def _cell(value: Any) -> str:
    return plain(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["_none_", ""]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def markdown(snapshot: Snapshot, context: dict[str, Any]) -> str:
    """The report as Markdown: to-do list, unscanned targets, measures, then each view."""
    now = snapshot.now
    period = context["period"]
    since = utc(period["since"]) if period["since"] else "all history"
    lines = [f"# vecpatch report ({since} → {utc(period['until'])})", ""]
    lines += ["## What needs doing now", ""]
    for a in context["actions"]:
        where = ", ".join(f"{p['target']}/{p['database']}" if p["database"] else
                          f"{p['target']} (server)" for p in a["places"][:8])  # fmt: skip
        lines += [f"- **{a['title']}**" + (f" ({a['severity']})" if a["severity"] else ""),
                  f"  on {where}", f"  `{a['command']}`"]  # fmt: skip
    if not context["actions"]:
        lines.append("_nothing to do_")
    lines.append("")
    if context["down"]:
        lines += ["## Not scanned (findings not checked)", ""]
        lines += _table(
            ["Target", "Why", "Last tried"],
            [[t["target"], t["reason"] or "; ".join(t["failed_databases"]),
              f"{ago(t['scanned_at'], now)} ({utc(t['scanned_at'])})"] for t in context["down"]],
        )  # fmt: skip
    lines += ["## Measures", ""]
    lines += _table(
        ["Measure", "Value", "Target", "Status"],
        [[c["title"], c["value"], c["target"], c["state"]] for c in context["cards"]],
    )
    lines += ["## Advisories", ""]
    lines += _table(
        ["Advisory", "Severity", "Product", "Fixed in", "Servers exposed", "Databases exposed"],
        [[a["id"], a["severity"], a["product"], a["fixed"] or "no fix yet",
          a["servers"]["exposed"], a["databases"]["exposed"]] for a in context["all_advisories"]],
    )  # fmt: skip
    lines += ["## Servers", ""]
    lines += _table(
        ["Server", "PostgreSQL", "Exposure", "Next action", "Databases"],
        [[s["target"], s["pg_version"], s["severity"] or "not exposed", s["next_action"],
          s["databases"]] for s in context["servers"]],
    )  # fmt: skip
    lines += ["## Databases", ""]
    lines += _table(
        ["Database", "pgvector", "On disk", "Exposure", "Next action"],
        [[f"{d['target']}/{d['database']}", d["installed"] or "not installed", d["on_disk"],
          d["severity"] or "not exposed", d["next_action"]] for d in context["databases"]],
    )  # fmt: skip
    lines += ["## Runs", ""]
    lines += _table(
        ["Started", "Kind", "Verdict", "Summary"],
        [[utc(r["started_at"]), r["kind"], r["status"],
          "; ".join(f"{k}: {v}" for k, v in r["facts"])] for r in context["runs"]],
    )  # fmt: skip
    return "\n".join(lines)
