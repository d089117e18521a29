"""The feed plug-in interface: a source fetches and returns data, or says why not.

A source never raises for network or format trouble; it returns
:class:`SkippedSource` with a reason, so one broken feed cannot stop an update
and the previous knowledge is kept.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from vecpatch.catalog.model import Catalog
from vecpatch.catalog.sources.http import FeedClient, FetchError
from vecpatch.errors import VecpatchError


@dataclass(frozen=True)
class SourceResult:
    """Document fragments (see :mod:`vecpatch.catalog.document`) from one source."""

    source: str
    releases: list[dict[str, Any]] = field(default_factory=list)
    advisories: list[dict[str, Any]] = field(default_factory=list)
    majors: dict[str, dict[str, Any]] = field(default_factory=dict)
    distro_packages: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """Records the source itself had to skip (bad shape or version), named by field."""


@dataclass(frozen=True)
class SkippedSource:
    source: str
    reason: str


class Source(ABC):
    """One feed. ``base_url`` is configurable for mirrors and air-gapped setups."""

    name: str
    default_base_url: str

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    def fetch(self, client: FeedClient, known: Catalog) -> SourceResult | SkippedSource:
        """Run the source; turn any fetch or shape error into a skip."""
        try:
            return self.collect(client, known)
        except FetchError as exc:
            return SkippedSource(self.name, exc.reason)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return SkippedSource(self.name, f"unexpected response shape ({type(exc).__name__})")
        except VecpatchError as exc:  # e.g. a version no parser accepts: the feed, not the run
            return SkippedSource(self.name, exc.message)

    @abstractmethod
    def collect(self, client: FeedClient, known: Catalog) -> SourceResult:
        """Fetch and convert; may raise :class:`FetchError` or shape errors."""
