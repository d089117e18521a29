#!/usr/bin/env python3
"""Rebuild the bundled catalog snapshot from a directory of shared data files.

Usage: build_snapshot.py DATA_DIR [--out DIR] [--generated-at ISO] [--distro-file F ...]

DATA_DIR holds pgvector_releases.json, postgres_minors.json and advisories.json.
Each ``--distro-file`` is a ``.deb``, a ``changelog.Debian[.gz]`` or ``[DISTRO:]SUITE=Packages``
file (see ``vecpatch.catalog.sources.debian.DistroFiles``); their facts are merged
in with their source named. The bundled snapshot is built with::

    scripts/build_snapshot.py ../shared/data --generated-at 2026-12-02T00:00:00+00:00 \
        $(scripts/distro_inputs.sh tests/catalog/data/distro)

The output defaults to the package's data/catalog folder; a sha256 manifest is
written next to the snapshot so every load can detect tampering.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from vecpatch.catalog.build import document_from_shared
from vecpatch.catalog.document import Document, catalog_from_document, merge_documents
from vecpatch.catalog.snapshot import snapshot_dir, write_snapshot
from vecpatch.catalog.sources.debian import DistroFiles
from vecpatch.catalog.sources.http import FeedClient
from vecpatch.catalog.sources.interface import SkippedSource
from vecpatch.catalog.update import fragment_from_result


def _with_distro(doc: Document, paths: list[str], now: datetime) -> Document:
    result = DistroFiles(paths).fetch(FeedClient(), catalog_from_document(doc))
    if isinstance(result, SkippedSource):
        raise SystemExit(f"distro files: {result.reason}")
    fragment, notes = fragment_from_result(result, now)
    for note in [*result.notes, *notes]:
        print(f"note: {note}", file=sys.stderr)
    merged, _ = merge_documents(doc, fragment, today=now.date())
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--distro-file", action="append", default=[])
    parser.add_argument(
        "--generated-at", default=None, help="ISO datetime (default: newest in the data)"
    )
    args = parser.parse_args(argv)
    src: Path = args.data_dir

    def read(name: str) -> object:
        return json.loads((src / name).read_text(encoding="utf-8"))

    generated = datetime.fromisoformat(args.generated_at) if args.generated_at else None
    doc = document_from_shared(
        read("pgvector_releases.json"),  # type: ignore[arg-type]
        read("postgres_minors.json"),  # type: ignore[arg-type]
        read("advisories.json"),  # type: ignore[arg-type]
        generated_at=generated,
    )
    if args.distro_file:
        doc = _with_distro(doc, args.distro_file, generated or datetime.now(UTC))
    catalog = catalog_from_document(doc)  # fail before writing anything unreadable
    out = write_snapshot(args.out or Path(snapshot_dir()), doc)
    print(
        f"wrote {out}: {len(catalog.releases)} releases, {len(catalog.advisories)} advisories, "
        f"generated {catalog.generated_at.isoformat()}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
