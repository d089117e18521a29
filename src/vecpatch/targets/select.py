"""Choosing a subset of targets by environment, tag and wave."""

from __future__ import annotations

from collections.abc import Iterable

from vecpatch.targets.model import Target


def select(
    targets: Iterable[Target],
    env: str | None = None,
    tag: str | None = None,
    wave: int | None = None,
) -> list[Target]:
    """Targets matching every given filter (None means "any"), in their original order."""
    return [
        t
        for t in targets
        if (env is None or t.environment == env)
        and (tag is None or tag in t.tags)
        and (wave is None or t.wave == wave)
    ]
