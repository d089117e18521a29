"""``vecpatch rollout``: a plan applied across a fleet in waves, with gates, and resumable.

Rules, in the order they bite:

- a wave starts only when every earlier wave ended clean (applied, post-commit checks
  passed, or nothing to do) and, past the staging waves, when the latest staging run in
  the history passed (``require_stage``);
- between waves the fleet *bakes* (``bake`` seconds) so problems surface before more
  databases change;
- at most ``concurrency`` targets change at once; after ``max_failures`` failures no
  new target starts, and the rollout halts at the end of that wave;
- every target's state is written to the history store as it changes, so a stopped
  or halted rollout resumes with ``--resume ROLLOUT_ID`` and skips what is done.

The versions are fixed when the rollout starts (cooldown already applied by the
caller's plan) and kept in the history, so a catalog update during a bake never
changes what a later wave installs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vecpatch.automation.applier import Applier, TargetOutcome
from vecpatch.automation.waves import DEFAULT_ENV_ORDER, Wave, schedule
from vecpatch.catalog.versions import PgvectorVersion
from vecpatch.errors import UsageError
from vecpatch.history.records import RolloutStateRecord
from vecpatch.history.store import HistoryStore
from vecpatch.plan import Plan, Status
from vecpatch.targets.model import Target

META = "*"
PASSING_STAGE = frozenset({"ok", "passed", "pass", "success", "succeeded"})
DONE = "done"
FAILED = "failed"
PENDING = "pending"
RUNNING = "running"


@dataclass(frozen=True)
class RolloutOptions:
    """The operator's rollout choices."""

    bake: float = 0.0
    concurrency: int = 2
    max_failures: int = 1
    require_stage: bool = True
    env_order: tuple[str, ...] = DEFAULT_ENV_ORDER


@dataclass
class TargetState:
    target: str
    wave: int
    state: str = PENDING
    version: str | None = None
    outcome: str | None = None
    apply_run_id: str | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class RolloutResult:
    """Where the rollout stands after this invocation."""

    rollout_id: str
    status: str  # completed, halted, blocked
    waves: list[Wave]
    states: dict[str, TargetState]
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollout_id": self.rollout_id,
            "status": self.status,
            "reason": self.reason,
            "waves": [
                {
                    "index": w.index,
                    "label": w.label,
                    "targets": [vars(self.states[n]) for n in w.targets],
                }
                for w in self.waves
            ],
        }


def latest_stage_passed(store: HistoryStore) -> tuple[bool, str]:
    """Whether the most recent finished staging run passed, and what was found."""
    finished = [r for r in store.runs("stage") if r.finished_at is not None]
    if not finished:
        return False, "no staging run in the history (run the staging tests first)"
    last = finished[-1]
    verdict = f"latest staging run {last.id[:8]} ({last.started_at:%Y-%m-%d %H:%M}) {last.status}"
    return last.status in PASSING_STAGE, verdict


@dataclass
class Rollout:
    """One rollout: its schedule, versions and per-target state, persisted as it goes."""

    store: HistoryStore
    applier: Applier
    options: RolloutOptions
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def start(self, targets: Sequence[Target], versions: Mapping[str, str | None]) -> str:
        """Record a new rollout (schedule, versions, options); return its id."""
        waves = schedule(targets, self.options.env_order)
        rollout_id = self.store.start_run("rollout", started_at=self.clock())
        meta = {
            "waves": [[w.label, list(w.targets), w.staging] for w in waves],
            "versions": dict(versions),
            "options": vars(self.options) | {"env_order": list(self.options.env_order)},
        }
        self._put(rollout_id, META, "meta", None, meta)
        for wave in waves:
            for name in wave.targets:
                self._save(rollout_id, TargetState(name, wave.index, version=versions.get(name)))
        return rollout_id

    def load(self, rollout_id: str) -> tuple[list[Wave], dict[str, TargetState]]:
        """The schedule and states recorded for ``rollout_id`` (UsageError if unknown)."""
        rows = self.store.rollout_states(rollout_id)
        meta = next((r for r in rows if r.target == META), None)
        if meta is None:
            raise UsageError(f"no rollout {rollout_id} in the history store")
        waves = [
            Wave(i, str(label), tuple(names), bool(staging))
            for i, (label, names, staging) in enumerate(meta.detail["waves"], start=1)
        ]
        states: dict[str, TargetState] = {}
        for row in rows:
            if row.target.startswith(META):  # the meta row and bake markers
                continue
            d = dict(row.detail)
            states[row.target] = TargetState(
                row.target,
                row.wave or 0,
                row.state,
                d.get("version"),
                d.get("outcome"),
                d.get("apply_run_id"),
                list(d.get("reasons") or []),
            )
        return waves, states

    def run(self, rollout_id: str, targets: Sequence[Target]) -> RolloutResult:
        """Run (or resume) the rollout until it completes or a gate stops it."""
        waves, states = self.load(rollout_id)
        by_name = {t.name: t for t in targets}
        missing = sorted(set(states) - set(by_name))
        if missing:
            raise UsageError(
                f"rollout {rollout_id} includes targets not in this selection: {missing}",
                hint="pass the same --targets file the rollout started with",
            )
        self.store.finish_run(rollout_id, "running", self._summary(states, waves))
        result = self._waves(rollout_id, waves, states, by_name)
        self.store.finish_run(rollout_id, result.status, self._summary(states, waves, result))
        return result

    def _waves(
        self,
        rollout_id: str,
        waves: list[Wave],
        states: dict[str, TargetState],
        by_name: Mapping[str, Target],
    ) -> RolloutResult:
        for wave in waves:
            todo = [n for n in wave.targets if states[n].state != DONE]
            if not todo:
                continue
            if not wave.staging and self.options.require_stage:
                passed, verdict = latest_stage_passed(self.store)
                if not passed:
                    return RolloutResult(rollout_id, "blocked", waves, states, verdict)
            self._bake_if_due(rollout_id, wave)
            self._apply_wave(rollout_id, wave, todo, states, by_name)
            failed = [n for n in wave.targets if states[n].state == FAILED]
            if failed:
                reason = f"{wave.label}: {len(failed)} target(s) failed ({', '.join(failed)})"
                return RolloutResult(rollout_id, "halted", waves, states, reason)
            if wave is not waves[-1] and self.options.bake > 0:
                until = self.clock() + timedelta(seconds=self.options.bake)
                self._put(rollout_id, f"*bake:{wave.index}", "baking", wave.index,
                          {"until": until.isoformat()})  # fmt: skip
        return RolloutResult(rollout_id, "completed", waves, states)

    def _bake_if_due(self, rollout_id: str, wave: Wave) -> None:
        """Wait out the bake that followed the previous wave (also after a resume)."""
        if wave.index == 1:
            return
        rows = {r.target: r for r in self.store.rollout_states(rollout_id)}
        bake = rows.get(f"*bake:{wave.index - 1}")
        if bake is None:
            return
        until = datetime.fromisoformat(str(bake.detail["until"]))
        left = (until - self.clock()).total_seconds()
        if left > 0:
            self.sleep(left)

    def _apply_wave(
        self,
        rollout_id: str,
        wave: Wave,
        todo: list[str],
        states: dict[str, TargetState],
        by_name: Mapping[str, Target],
    ) -> None:
        failures = [0]  # this invocation's: earlier ones are being retried now

        def one(name: str) -> None:
            state = states[name]
            if failures[0] >= self.options.max_failures:
                state.reasons = ["not started: the rollout reached its failure limit"]
                self._save(rollout_id, state)
                return
            if state.version is None:
                state.state, state.outcome, state.reasons = DONE, "nothing-to-do", []
                self._save(rollout_id, state)
                return
            state.state = RUNNING
            self._save(rollout_id, state)
            outcome = self._apply(by_name[name], state.version)
            state.outcome, state.apply_run_id = outcome.outcome, outcome.run_id
            state.reasons = list(outcome.reasons)
            state.state = DONE if outcome.ok else FAILED
            if not outcome.ok:
                failures[0] += 1
            self._save(rollout_id, state)

        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            list(pool.map(one, todo))

    def _apply(self, target: Target, version: str) -> TargetOutcome:
        try:
            return self.applier(target, version)
        except Exception as exc:  # an applier bug must not leave the state "running"
            return TargetOutcome(target.name, "failed", None, (f"{type(exc).__name__}: {exc}",))

    def _save(self, rollout_id: str, s: TargetState) -> None:
        detail = {
            "version": s.version,
            "outcome": s.outcome,
            "apply_run_id": s.apply_run_id,
            "reasons": s.reasons,
        }
        self._put(rollout_id, s.target, s.state, s.wave, detail)

    def _put(
        self, rollout_id: str, target: str, state: str, wave: int | None, detail: dict[str, Any]
    ) -> None:
        self.store.set_rollout_state(
            RolloutStateRecord(
                rollout_id=rollout_id, target=target, state=state, wave=wave, detail=detail
            )
        )

    @staticmethod
    def _summary(
        states: Mapping[str, TargetState], waves: list[Wave], result: RolloutResult | None = None
    ) -> dict[str, Any]:
        return {
            "targets": len(states),
            "done": sum(1 for s in states.values() if s.state == DONE),
            "failed": sum(1 for s in states.values() if s.state == FAILED),
            "waves": len(waves),
            "reason": result.reason if result else None,
            "targets_list": sorted(states),
        }


def versions_from_plan(plan: Plan) -> dict[str, str | None]:
    """Per target, the version its planned databases go to (None: nothing to do).

    Taken from a plan built with the rollout's policy and cooldown, so a release that is
    too young is skipped unless it fixes a security issue (the planner's bypass).
    """
    found: dict[str, str | None] = {}
    for tplan in plan.targets:
        wanted = {d.target for d in tplan.databases if d.status is Status.PLANNED and d.target}
        found[tplan.target] = str(max(PgvectorVersion.parse(v) for v in wanted)) if wanted else None
    return found
