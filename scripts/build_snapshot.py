#!/usr/bin/env python3
"""Rebuild the bundled catalog snapshot from a directory of shared data files.

Usage: build_snapshot.py DATA_DIR [--out DIR] [--generated-at ISO]

DATA_DIR holds pgvector_releases.json, postgres_minors.json and advisories.json.
The output defaults to the package's data/catalog folder; a sha256 manifest is
written next to the snapshot so every load can detect tampering.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from vecpatch.catalog.build import document_from_shared
from vecpatch.catalog.document import catalog_from_document
from vecpatch.catalog.snapshot import snapshot_dir, write_snapshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None)
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
