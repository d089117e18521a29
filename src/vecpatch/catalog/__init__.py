"""The release and advisory catalog: what exists, what is vulnerable, and where.

The core here is pure (versions, model, conditions, matching, ignores); loading the
bundled snapshot and the local cache, and fetching live feeds, sit at the edges.
Other modules should only need :func:`load_catalog`, :func:`match` and the model.
"""

from vecpatch.catalog.facts import ServerFacts
from vecpatch.catalog.match import AdvisoryMatch, evaluate, match
from vecpatch.catalog.model import Advisory, Catalog, Product, Release
from vecpatch.catalog.store import load_catalog
from vecpatch.catalog.versions import PgvectorVersion, PgVersion, VersionRange

__all__ = [
    "Advisory",
    "AdvisoryMatch",
    "Catalog",
    "PgVersion",
    "PgvectorVersion",
    "Product",
    "Release",
    "ServerFacts",
    "VersionRange",
    "evaluate",
    "load_catalog",
    "match",
]
