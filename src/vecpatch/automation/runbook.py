"""``vecpatch runbook``: the Markdown SOP for one maintenance, from a saved plan.

Change boards and on-call engineers want a document, not a tool run: when, what, in
which order, how to check it worked, how to go back, who signed off. It is rendered
from ``vecpatch plan --format json`` output (the documented plan JSON), so the runbook
describes exactly the plan that ``apply`` will execute, and optionally from the targets
file for windows and time zones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vecpatch.automation.migration import NO_DOWNGRADE
from vecpatch.automation.schedule import next_window_start
from vecpatch.errors import UsageError
from vecpatch.targets.model import Target


def _planned(target: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [d for d in target.get("databases", []) if d.get("status") == "planned"]


def _window_lines(
    plan: Mapping[str, Any], targets: Mapping[str, Target], now: datetime
) -> list[str]:
    lines = ["## Window", ""]
    for t in plan["targets"]:
        spec = targets.get(t["target"])
        if spec is None or not spec.window:
            lines.append(f"- **{t['target']}**: no window configured; agree one before starting")
            continue
        start = next_window_start(spec.window, spec.timezone, now)
        when = f", next opens {start:%Y-%m-%d %H:%M %Z}" if start else ""
        lines.append(f"- **{t['target']}**: `{spec.window}` ({spec.timezone}){when}")
    return [*lines, ""]


def _target_steps(t: Mapping[str, Any], version_hint: str) -> list[str]:
    name = t["target"]
    lines = [
        f"### {name} ({t.get('environment') or 'no environment'}, {t['host']}:{t['port']})",
        "",
    ]
    if t.get("skipped"):
        return [*lines, f"Skipped by the planner: {t['skipped']}", ""]
    if t.get("platform"):
        lines += [f"Platform: {t['platform']} ({'; '.join(t.get('platform_evidence') or [])})", ""]
    step = 1
    minor = t.get("pg_minor")
    if minor:
        lines += [
            f"{step}. **PostgreSQL minor {minor['current']} -> {minor['target']}** (restart; "
            f"fixes {len(minor.get('cves_fixed') or [])} CVEs). Replicas first, then switch over "
            "or restart the primary. Never in the same change as the extension update.",
            *[f"   - {k}: `{v}`" for k, v in minor.get("commands") or []],
            *[f"   - note: {n}" for n in minor.get("notes") or []],
        ]
        step += 1
    package = t.get("package")
    if package:
        how = package.get("hook_command") or "; ".join(
            f"{k}: `{v}`" for k, v in package.get("instructions", [])
        )
        if package.get("reachable") and package["reachable"] != package["version"]:
            exposed = ", ".join(package.get("exposed") or []) or "no known advisory"
            how += f" (reachable now: {package['reachable']}; still exposed there: {exposed})"
        lines.append(
            f"{step}. **Install pgvector {package['version']}** for PostgreSQL "
            f"{package['pg_major']} on this server and its replicas: {how}"
        )
        step += 1
    planned = _planned(t)
    if planned:
        lines += [
            f"{step}. **Update the extension** (preflight, backup, checked update, verification):",
            "",
            "   ```sh",
            f'   vecpatch apply {name} --targets "$VECPATCH_TARGETS" --to {version_hint} '
            "--backup pg_dump",
            "   ```",
            "",
            "   Statements it runs per database (each in a fresh session, one transaction):",
            "",
        ]
        for d in planned:
            path = " -> ".join(d.get("path") or [])
            lines.append(f"   - `{d['database']}`: {d['installed']} -> {d['target']} ({path})")
            lines += [f"     - `{s}`" for s in d.get("sql", [])]
            lines += [f"     - then: {a['description']}" for a in d.get("actions", [])]
        step += 1
    if step == 1:
        lines.append("Nothing to do on this target.")
    return [*lines, ""]


def _selector(t: Mapping[str, Any]) -> str:
    """How to point ``apply`` at this target (the plan carries no credentials)."""
    if t.get("environment"):
        return f'--targets "$VECPATCH_TARGETS" --env {t["environment"]}'
    return f'"host={t["host"]} port={t["port"]}"'


def render(plan: Mapping[str, Any], targets: Mapping[str, Target], now: datetime) -> str:
    """The runbook for a plan document (``Plan.to_dict()`` shape)."""
    if "targets" not in plan or "policy" not in plan:
        raise UsageError("not a vecpatch plan (expected `vecpatch plan --format json` output)")
    versions = sorted(
        {str(d["target"]) for t in plan["targets"] for d in _planned(t) if d.get("target")}
    )
    hint = versions[-1] if versions else "VERSION"
    policy = plan["policy"]
    lines = [
        "# Maintenance runbook: pgvector update",
        "",
        f"Plan created {plan.get('created_at')} (policy `{policy.get('policy')}`"
        + (f", pinned {policy['pinned']}" if policy.get("pinned") else "")
        + f"); catalog of {plan.get('catalog_generated_at')}.",
        f"Targets: {len(plan['targets'])}; databases to update: "
        f"{sum(len(_planned(t)) for t in plan['targets'])}; target version(s): "
        f"{', '.join(versions) or 'none'}.",
        "",
        *[f"> warning: {w}" for w in plan.get("warnings", [])],
        *_window_lines(plan, targets, now),
        "## Before the window",
        "",
        "- [ ] Stakeholders told (target, window, plan); `vecpatch watch` announces it too",
        "- [ ] Plan re-checked with a dry run: `vecpatch apply --targets FILE --dry-run`",
        "- [ ] A restorable backup exists and its restore time is known",
        "- [ ] The latest staging run passed for this version",
        "- [ ] Connection pools can be reconnected (sessions keep the old `vector.so`)",
        "",
        "## Steps",
        "",
    ]
    for t in plan["targets"]:
        lines += _target_steps(t, hint)
    lines += [
        "## Verification",
        "",
        "- In every updated database: `SELECT extversion FROM pg_extension WHERE extname = "
        "'vector';` shows the target version",
        "- `vecpatch scan --targets FILE` shows no VULNERABLE or CATALOG_BEHIND_BINARY finding",
        "- The apply's evidence bundle (`evidence.md`) lists every check as passed",
        "- Sessions older than the update were reconnected (`--reconnect-stale` or pool reload)",
        "- Application error rates and vector query latency are normal after the soak",
        "",
        "## Rollback",
        "",
        f"{NO_DOWNGRADE}.",
        "",
        "1. Stop the writes that depend on the new version, or take the application offline.",
        "2. `vecpatch rollback RUN_ID --targets FILE` (typed confirmation) restores the backup.",
        "3. Verify `extversion` is the previous version and the row counts match the evidence.",
        "4. Reinstall the previous pgvector package if the new one was removed from disk.",
        "",
        "## Sign-off",
        "",
        "| role | name | date | signature |",
        "|---|---|---|---|",
        "| change owner | | | |",
        "| database on-call | | | |",
        "| application owner | | | |",
        "",
        "- [ ] Steps done as written (deviations noted below)",
        "- [ ] Verification passed",
        "- [ ] Evidence bundle attached to the change record",
        "",
    ]
    return "\n".join(lines)
