"""The rollout engine's rules on data: order, gates, bake, cap, failure limit, resume.

The applier here records calls instead of changing databases (the engine only needs
the Applier protocol); the history store is a real SQLite store. Real databases are
changed in ``test_rollout_fleet``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vecpatch.automation.applier import TargetOutcome
from vecpatch.automation.rollout import Rollout, RolloutOptions
from vecpatch.automation.waves import schedule
from vecpatch.errors import UsageError
from vecpatch.history.store import HistoryStore
from vecpatch.targets.model import Target


def t(name: str, env: str = "production", wave: int | None = None) -> Target:
    return Target(name=name, dsn=f"host=h{name} dbname=app", environment=env, wave=wave)


class Recorder:
    def __init__(self, failing: set[str] | None = None, pause: float = 0.0) -> None:
        self.failing = failing or set()
        self.calls: list[tuple[str, str]] = []
        self.active = 0
        self.peak = 0
        self.pause = pause
        self._lock = threading.Lock()

    def __call__(self, target: Target, version: str) -> TargetOutcome:
        with self._lock:
            self.calls.append((target.name, version))
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.pause)
        with self._lock:
            self.active -= 1
        if target.name in self.failing:
            return TargetOutcome(target.name, "failed", "r-" + target.name, ("boom",))
        return TargetOutcome(target.name, "applied", "r-" + target.name)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore.open(f"sqlite:///{tmp_path / 'h.db'}")


def test_schedule_orders_environments_then_wave_numbers() -> None:
    fleet = [t("p2", wave=2), t("c", "canary"), t("p1", wave=1), t("s", "staging"), t("p0")]
    waves = schedule(fleet)
    assert [(w.label, w.targets) for w in waves] == [
        ("staging", ("s",)),
        ("canary", ("c",)),
        ("wave 0", ("p0",)),
        ("wave 1", ("p1",)),
        ("wave 2", ("p2",)),
    ]
    assert [w.staging for w in waves] == [True, False, False, False, False]


def test_stage_gate_blocks_until_a_staging_run_passed(store: HistoryStore) -> None:
    fleet = [t("s", "staging"), t("a", wave=1)]
    applier = Recorder()
    engine = Rollout(store, applier, RolloutOptions(require_stage=True))
    rid = engine.start(fleet, {"s": "0.8.5", "a": "0.8.5"})
    result = engine.run(rid, fleet)
    assert result.status == "blocked" and "no staging run" in str(result.reason)
    assert applier.calls == [("s", "0.8.5")]  # the staging wave itself is not gated
    failed = store.start_run("stage")
    store.finish_run(failed, "failed")
    assert engine.run(rid, fleet).status == "blocked"
    passed = store.start_run("stage")
    store.finish_run(passed, "passed")
    assert engine.run(rid, fleet).status == "completed"
    assert applier.calls == [("s", "0.8.5"), ("a", "0.8.5")]


def test_bake_concurrency_cap_and_nothing_to_do(store: HistoryStore) -> None:
    fleet = [t(f"a{i}", wave=1) for i in range(5)] + [t("b", wave=2), t("c", wave=3)]
    versions: dict[str, str | None] = {f.name: "0.8.5" for f in fleet}
    versions["c"] = None
    clock = Clock()
    applier = Recorder(pause=0.05)
    opts = RolloutOptions(bake=600, concurrency=2, require_stage=False)
    engine = Rollout(store, applier, opts, sleep=clock.sleep, clock=clock)
    result = engine.run(engine.start(fleet, versions), fleet)
    assert result.ok
    assert applier.peak == 2
    assert clock.slept == [600, 600]
    assert ("c", "0.8.5") not in applier.calls and result.states["c"].outcome == "nothing-to-do"


def test_failure_limit_stops_new_starts_and_resume_retries_only_the_rest(
    store: HistoryStore,
) -> None:
    fleet = [t(f"a{i}", wave=1) for i in range(4)] + [t("z", wave=2)]
    applier = Recorder(failing={"a0"})
    engine = Rollout(store, applier, RolloutOptions(concurrency=1, require_stage=False))
    rid = engine.start(fleet, dict.fromkeys((f.name for f in fleet), "0.8.5"))
    result = engine.run(rid, fleet)
    assert result.status == "halted"
    assert [c[0] for c in applier.calls] == ["a0"]  # limit 1: nothing else started
    assert result.states["a1"].state == "pending"
    applier.failing.clear()
    applier.calls.clear()
    assert engine.run(rid, fleet).ok
    assert sorted(c[0] for c in applier.calls) == ["a0", "a1", "a2", "a3", "z"]
    applier.calls.clear()
    assert engine.run(rid, fleet).ok and applier.calls == []  # all done: nothing repeats


def test_resume_needs_the_same_targets(store: HistoryStore) -> None:
    fleet = [t("a", wave=1), t("b", wave=2)]
    engine = Rollout(store, Recorder(), RolloutOptions(require_stage=False))
    rid = engine.start(fleet, {"a": "0.8.5", "b": "0.8.5"})
    with pytest.raises(UsageError, match="not in this selection"):
        engine.run(rid, fleet[:1])
    with pytest.raises(UsageError, match="no rollout"):
        engine.run("00000000-0000-0000-0000-000000000000", fleet)


def test_an_applier_crash_is_a_failure_not_a_stuck_state(store: HistoryStore) -> None:
    def broken(target: Target, version: str) -> TargetOutcome:
        raise RuntimeError("bug")

    fleet = [t("a", wave=1)]
    engine = Rollout(store, broken, RolloutOptions(require_stage=False))
    result = engine.run(engine.start(fleet, {"a": "0.8.5"}), fleet)
    assert result.status == "halted" and result.states["a"].state == "failed"
    assert "RuntimeError: bug" in result.states["a"].reasons[0]
