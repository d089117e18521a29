"""A real history for the metrics tests: sandbox scans, stage runs and applies.

``record_scenario`` drives the real ``vecpatch scan`` CLI and the real apply runner
against three fresh sandboxes, and records two stage runs through the store exactly as
``vecpatch.stage.record`` does (run kind ``stage``, one ``StageCaseRecord`` per case,
verdict ``pass``/``fail``, status ``passed``/``failed``, summary with from/to/coverage). Timeline:

1. scan 1: alpha (16.4, pgvector 0.7.4: CVE-2026-3172 exposed), bravo (16.4, catalog 0.7.4
   with 0.8.5 on disk: not exposed), charlie (16.2, 0.6.2: CVE-2026-3172 exposed);
2. stage run 1: 4 critical cases pass, 1 non-critical fails;
3. alpha gets the 0.8.5 package, then a real apply to 0.8.5: succeeds;
4. stage run 2: 3 of 4 critical cases pass;
5. a real apply of bravo with a failing check: fails, database unchanged, incident opened;
6. scan 2: alpha fixed (its CVE-2026-3172 window closes), charlie still exposed (open);
7. ``vecpatch incident add --advisory CVE-2026-3172`` on charlie.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from vecpatch.apply import ApplyOptions, ApplyResult, BackupKind, run_apply
from vecpatch.apply.model import Check
from vecpatch.catalog.store import load_catalog
from vecpatch.cli.main import app
from vecpatch.history import HistoryStore, StageCaseRecord
from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.testing import SandboxFactory
from vecpatch.targets import load_targets

runner = CliRunner()


class QuietUi:
    def info(self, message: str) -> None:
        pass

    def confirm(self, target: str, summary: str) -> bool:
        return False


@dataclass(frozen=True)
class Scenario:
    history: str
    targets: Path
    env: dict[str, str]
    scan_runs: tuple[str, str]
    stage_runs: tuple[str, str]
    good: ApplyResult
    bad: ApplyResult
    incident_id: str


def cli(*args: str, env: dict[str, str]) -> str:
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def _targets_file(folder: Path, sandboxes: dict[str, Sandbox]) -> tuple[Path, dict[str, str]]:
    env = {"VECPATCH_TARGETS": "", "VECPATCH_HISTORY": ""}
    parts = []
    for name, sb in sandboxes.items():
        var = f"PW_{name.upper()}"
        env[var] = str(conninfo_to_dict(sb.dsn())["password"])
        parts.append(
            f'[[targets]]\nname = "{name}"\nenvironment = "production"\n'
            f'dsn = "postgresql://postgres@127.0.0.1:{sb.port}/postgres"\n'
            f'password = "env:{var}"\n'
        )
    path = folder / "targets.toml"
    path.write_text("\n".join(parts))
    return path, env


def _scan(history: str, targets: Path, env: dict[str, str]) -> str:
    cli("scan", "--targets", str(targets), "--history", history, "--format", "json", env=env)
    with HistoryStore.open(history) as store:
        return store.runs("scan")[-1].id


def _stage(history: str, verdicts: list[tuple[str, bool, str]]) -> str:
    with HistoryStore.open(history) as store:
        run_id = store.start_run("stage", environment="staging")
        for case_id, critical, verdict in verdicts:
            store.record_stage_case(
                StageCaseRecord(
                    run_id=run_id, case_id=case_id, category="functionality",
                    critical=critical, verdict=verdict, duration=0.1,
                )
            )  # fmt: skip
        critical = [v for _, c, v in verdicts if c]
        coverage = sum(v == "pass" for v in critical) / len(critical)
        summary = {"from": "0.7.4", "to": "0.8.5", "pg_major": "16", "coverage": coverage}
        status = "passed" if coverage == 1 else "failed"  # as vecpatch.stage.record does
        store.finish_run(run_id, status, summary)
        return run_id


def _apply(
    history: str, targets: Path, env: dict[str, str], name: str, sb: Sandbox, **extra: object
) -> ApplyResult:
    chosen = [t for t in load_targets(targets, env).targets if t.name == name]
    opts = ApplyOptions(
        yes=True, soak=0, pg_bin=sb.bin_dir, to="0.8.5", backup=BackupKind.NONE,
        i_have_a_backup=True, evidence_dir=targets.parent / "evidence", **extra,  # type: ignore[arg-type]
    )  # fmt: skip
    with HistoryStore.open(history) as store:
        return run_apply(chosen, opts, load_catalog(offline=True), store, QuietUi(), environ=env)


def _failing(_conn: object) -> Check:
    return Check("injected", False, "made to fail by the metrics test")


def record_scenario(history: str, folder: Path, fresh: Callable[..., Sandbox]) -> Scenario:
    alpha, bravo, charlie = fresh("16.4", "0.7.4"), fresh("16.4", "0.7.4"), fresh("16.2", "0.6.2")
    for sb in (alpha, bravo, charlie):
        sb.run_sql("CREATE EXTENSION vector")
    bravo.install_extension("0.8.5")
    targets, env = _targets_file(folder, {"alpha": alpha, "bravo": bravo, "charlie": charlie})
    scan1 = _scan(history, targets, env)
    stage1 = _stage(history, [("c1", True, "pass"), ("c2", True, "pass"), ("c3", True, "pass"),
                              ("c4", True, "pass"), ("n1", False, "fail")])  # fmt: skip
    alpha.install_extension("0.8.5")
    good = _apply(history, targets, env, "alpha", alpha)
    stage2 = _stage(history, [("c1", True, "pass"), ("c2", True, "pass"), ("c3", True, "fail"),
                              ("c4", True, "pass")])  # fmt: skip
    bad = _apply(history, targets, env, "bravo", bravo, extra_checks=(_failing,))
    scan2 = _scan(history, targets, env)
    incident = cli(
        "incident", "add", "data exfiltration through HNSW build", "--advisory", "CVE-2026-3172",
        "--target", "charlie", "--database", "postgres", "--history", history, env=env,
    ).strip()  # fmt: skip
    return Scenario(history, targets, env, (scan1, scan2), (stage1, stage2), good, bad, incident)


class Fresh:
    """Sandboxes for one scenario, all discarded by :meth:`close`."""

    def __init__(self, factory: SandboxFactory) -> None:
        self.factory = factory
        self.made: list[Sandbox] = []

    def __call__(self, pg: str, pgvector: str) -> Sandbox:
        sb = self.factory.fresh(pg, pgvector)
        self.made.append(sb)
        return sb

    def close(self) -> None:
        for sb in self.made:
            self.factory.discard(sb)
