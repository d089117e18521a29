"""The metrics as a console table or Markdown (JSON is ``Metrics.to_dict``)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from vecpatch.metrics.compute import Metrics

DAY = 86_400.0
TITLES = {
    "update_cadence": "Update cadence",
    "staging_test_coverage": "Staging test coverage",
    "production_update_success_rate": "Production update success rate",
    "vulnerability_window": "Vulnerability window",
    "security_incidents": "Security incidents (known advisories)",
    "exposure": "Exposed now: databases (servers)",
}


def _days(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / DAY:.1f} d"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def headline(metrics: Metrics) -> list[dict[str, Any]]:
    """One card per metric: its main value as text, its target and met/missed."""
    doc = metrics.to_dict()
    cadence = doc["update_cadence"]["value"]
    window = doc["vulnerability_window"]
    servers = doc["exposure"]["servers"]
    values = {
        "update_cadence": f"median {_days(cadence['all']['median'])}, "
        f"p90 {_days(cadence['all']['p90'])}",
        "staging_test_coverage": _ratio(doc["staging_test_coverage"]["value"]["min"]),
        "production_update_success_rate": _ratio(doc["production_update_success_rate"]["value"]),
        "vulnerability_window": f"max {_days(window['value']['max'])}, {window['open']} open",
        "security_incidents": str(doc["security_incidents"]["value"]),
        "exposure": f"{doc['exposure']['value']} of {doc['exposure']['databases']}"
        f" (servers {servers['value']} of {servers['total']})",
    }
    targets = {
        "update_cadence": f"security ≤ {metrics.objectives.security_days:g} d, "
        f"other ≤ {metrics.objectives.other_days:g} d",
        "staging_test_coverage": f"≥ {metrics.objectives.coverage_ratio * 100:g} % of critical",
        "production_update_success_rate": f"≥ {metrics.objectives.success_ratio * 100:g} %",
        "vulnerability_window": f"≤ {metrics.objectives.security_days:g} d",
        "security_incidents": f"≤ {metrics.objectives.max_security_incidents}",
        "exposure": f"≤ {metrics.objectives.max_exposed_databases}",
    }
    met = metrics.met()
    return [
        {
            "key": key,
            "title": TITLES[key],
            "value": values[key],
            "target": targets[key],
            "met": met[key],
            "state": "no data" if met[key] is None else "met" if met[key] else "missed",
        }
        for key in TITLES
    ]


def _mark(state: str) -> str:
    return {"met": "met", "missed": "MISSED", "no data": "no data"}[state]


def metrics_table(metrics: Metrics) -> Table:
    period = metrics.period.to_dict()
    title = f"vecpatch metrics {period['since'] or 'all'} → {period['until']}"
    if metrics.scope.environment:
        title += f" ({metrics.scope.environment})"
    table = Table(title=title, title_justify="left")
    for column in ("Metric", "Value", "Target", "Status"):
        table.add_column(column)
    for card in headline(metrics):
        style = {"met": "green", "missed": "bold red"}.get(card["state"], "dim")
        table.add_row(
            card["title"], card["value"], card["target"], f"[{style}]{_mark(card['state'])}[/]"
        )
    return table


def metrics_markdown(metrics: Metrics) -> str:
    period = metrics.period.to_dict()
    lines = [
        f"## vecpatch metrics ({period['since'] or 'all history'} → {period['until']})",
        "",
        "| Metric | Value | Target | Status |",
        "|---|---|---|---|",
    ]
    for card in headline(metrics):
        lines.append(
            f"| {card['title']} | {card['value']} | {card['target']} | {_mark(card['state'])} |"
        )
    return "\n".join(lines) + "\n"
