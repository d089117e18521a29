"""Version types for PostgreSQL and pgvector, with total ordering and ranges.

PostgreSQL numbering changed at 10: before it a major is two numbers (``9.6``) and
the minor is the third (``9.6.24``); from 10 on the major is one number (``16.4``).
Pre-releases (``18beta2``, ``18rc1``) sort before the ``.0`` GA release, which is
what the sort key encodes. pgvector uses plain ``X.Y.Z`` (sometimes tagged ``vX.Y.Z``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from vecpatch.errors import UsageError


class VersionError(UsageError):
    """A version string that cannot be parsed."""


# Rank of the release stage; GA sorts after every pre-release of the same version.
_STAGES = {"devel": 0, "alpha": 1, "beta": 2, "rc": 3, "": 4}

_PG_RE = re.compile(
    r"^\s*(?P<nums>\d+(?:\.\d+){0,2})(?:(?P<stage>devel|alpha|beta|rc)(?P<pre>\d*))?(?=$|[\s(,])",
    re.IGNORECASE,
)
_VEC_RE = re.compile(
    r"^\s*v?(?P<nums>\d+(?:\.\d+){0,2})(?:-?(?P<stage>alpha|beta|rc)\.?(?P<pre>\d*))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, order=True)
class PgVersion:
    """A PostgreSQL server version such as ``16.4``, ``9.6.24`` or ``18beta2``."""

    major_parts: tuple[int, ...]
    minor: int = 0
    stage_rank: int = _STAGES[""]
    pre: int = 0
    text: str = field(default="", compare=False)

    @classmethod
    @functools.lru_cache(maxsize=4096)  # immutable; a scan parses the same strings many times
    def parse(cls, value: str) -> PgVersion:
        """Parse ``16.4``, ``9.6.24``, ``18beta2``, ``18rc1`` or a ``server_version`` string.

        Trailing distribution text (``16.4 (Ubuntu 16.4-1.pgdg22.04+1)``) is ignored.
        """
        m = _PG_RE.match(value)
        if not m:
            raise VersionError(f"not a PostgreSQL version: {value!r}")
        nums = [int(n) for n in m["nums"].split(".")]
        stage = (m["stage"] or "").lower()
        old = nums[0] < 10
        if old and len(nums) < 2:
            raise VersionError(f"PostgreSQL before 10 needs a two-part major: {value!r}")
        major: tuple[int, ...] = tuple(nums[:2]) if old else tuple(nums[:1])
        rest = nums[len(major) :]
        if len(rest) > 1:
            raise VersionError(f"too many version parts: {value!r}")
        if stage and rest:
            raise VersionError(f"a pre-release has no minor number: {value!r}")
        minor = rest[0] if rest else 0
        pre = int(m["pre"]) if m["pre"] else 0
        text = value.strip() if stage else ".".join(str(n) for n in (*major, minor))
        return cls(major, minor, _STAGES[stage], pre, text)

    @classmethod
    def from_num(cls, num: int) -> PgVersion:
        """Build from ``server_version_num`` (``160004`` → 16.4, ``90624`` → 9.6.24)."""
        if num >= 100000:
            return cls.parse(f"{num // 10000}.{num % 10000}")
        return cls.parse(f"{num // 10000}.{(num // 100) % 100}.{num % 100}")

    @property
    def major(self) -> str:
        """The major as PostgreSQL writes it: ``"9.6"`` or ``"16"``."""
        return ".".join(str(p) for p in self.major_parts)

    @property
    def is_prerelease(self) -> bool:
        return self.stage_rank != _STAGES[""]

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}"


def pg_major_key(major: str) -> tuple[int, ...]:
    """Sort key for a major string (``"9.6"`` < ``"10"`` < ``"16"``)."""
    try:
        return tuple(int(p) for p in major.split("."))
    except ValueError as exc:
        raise VersionError(f"not a PostgreSQL major: {major!r}") from exc


@dataclass(frozen=True, order=True)
class PgvectorVersion:
    """A pgvector release version (``0.8.1``); ``v0.8.1`` and ``0`` also parse."""

    parts: tuple[int, int, int]
    stage_rank: int = _STAGES[""]
    pre: int = 0

    @classmethod
    @functools.lru_cache(maxsize=4096)  # immutable; a scan parses the same strings many times
    def parse(cls, value: str) -> PgvectorVersion:
        m = _VEC_RE.match(value)
        if not m:
            raise VersionError(f"not a pgvector version: {value!r}")
        nums = [int(n) for n in m["nums"].split(".")] + [0, 0]
        stage = (m["stage"] or "").lower()
        pre = int(m["pre"]) if m["pre"] else 0
        return cls((nums[0], nums[1], nums[2]), _STAGES[stage], pre)

    @property
    def is_prerelease(self) -> bool:
        return self.stage_rank != _STAGES[""]

    def __str__(self) -> str:
        base = ".".join(str(p) for p in self.parts)
        if not self.is_prerelease:
            return base
        stage = next(k for k, v in _STAGES.items() if v == self.stage_rank)
        return f"{base}-{stage}{self.pre or ''}"


V = TypeVar("V", PgVersion, PgvectorVersion)


@dataclass(frozen=True)
class VersionRange(Generic[V]):
    """An OSV-style range: ``introduced`` inclusive, ``fixed`` exclusive,
    ``last_affected`` inclusive. A missing lower bound means "since the beginning"."""

    introduced: V | None = None
    fixed: V | None = None
    last_affected: V | None = None

    def __contains__(self, version: V) -> bool:
        if self.introduced is not None and version < self.introduced:
            return False
        if self.fixed is not None and not version < self.fixed:
            return False
        return not (self.last_affected is not None and self.last_affected < version)

    def describe(self) -> str:
        low = f">={self.introduced}" if self.introduced is not None else ""
        high = (
            f"<{self.fixed}"
            if self.fixed is not None
            else f"<={self.last_affected}"
            if self.last_affected is not None
            else ""
        )
        return " ".join(p for p in (low, high) if p) or "all versions"
