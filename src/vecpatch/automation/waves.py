"""The rollout schedule: which targets go together, and in which order.

Environments listed in ``env_order`` (default staging, then canary) each form their own
waves first, in that order; every other target follows, grouped by its ``wave`` number
(no number = wave 0). Within an environment, lower wave numbers go first. This mirrors
"staging -> canary -> wave 1 -> wave 2" without forcing every file to number everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vecpatch.targets.model import Target

DEFAULT_ENV_ORDER = ("staging", "canary")


@dataclass(frozen=True)
class Wave:
    """Targets applied together (up to the concurrency cap) before the next gate."""

    index: int
    label: str
    targets: tuple[str, ...]
    staging: bool = False


def _key(target: Target, env_order: Sequence[str]) -> tuple[int, int]:
    env = target.environment or ""
    rank = env_order.index(env) if env in env_order else len(env_order)
    return rank, target.wave or 0


def schedule(targets: Sequence[Target], env_order: Sequence[str] = DEFAULT_ENV_ORDER) -> list[Wave]:
    """Group and order the targets into waves (stable: file order within a wave)."""
    groups: dict[tuple[int, int], list[Target]] = {}
    for target in targets:
        groups.setdefault(_key(target, env_order), []).append(target)
    waves: list[Wave] = []
    for index, key in enumerate(sorted(groups), start=1):
        rank, number = key
        members = groups[key]
        if rank < len(env_order):
            label = env_order[rank] + (f" {number}" if number else "")
        else:
            label = f"wave {number}"
        staging = rank < len(env_order) and env_order[rank] == "staging"
        waves.append(Wave(index, label, tuple(t.name for t in members), staging))
    return waves
