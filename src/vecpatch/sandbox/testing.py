"""Test support: hand out sandboxes to a test session (used by the pytest fixtures).

Lives in the package (not in ``tests/conftest.py``) so test modules can import the type.
"""

from __future__ import annotations

import os
from pathlib import Path

from vecpatch.sandbox.cluster import Sandbox


class SandboxFactory:
    """Hands out sandboxes for tests; every one is destroyed when the session ends.

    ``get`` returns a started sandbox shared by all tests of the session (treat it as read-only:
    no DDL that others would see, no extension or binary changes). ``fresh`` returns a new one
    the caller may change. Sample data defaults to 2,000 rows to keep suites quick.
    """

    def __init__(self) -> None:
        self._shared: dict[tuple[object, ...], Sandbox] = {}
        self._owned: list[Sandbox] = []
        self._counter = 0

    def unique_name(self, label: str = "sbx") -> str:
        """A name unique across xdist workers and runs: worker id, pid, counter."""
        self._counter += 1
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in label)[:24]
        return f"t-{worker}-{os.getpid()}-{self._counter}-{safe}"

    def get(
        self, pg: str, pgvector: str | None = None, *, sample: bool = False, rows: int = 2000
    ) -> Sandbox:
        key = (pg, pgvector, sample, rows if sample else 0)
        sb = self._shared.get(key)
        if sb is None or not sb.path.exists():
            sb = self.fresh(pg, pgvector, sample=sample, rows=rows)
            self._shared[key] = sb
        elif not sb.is_running():
            sb.start()
        return sb

    def fresh(
        self,
        pg: str | None = None,
        pgvector: str | None = None,
        *,
        sample: bool = False,
        rows: int = 2000,
        port: int | None = None,
        pg_bin: str | Path | None = None,
    ) -> Sandbox:
        label = f"{pg}-{pgvector}" if pg_bin is None else Path(pg_bin).parent.name
        sb = Sandbox.create(
            self.unique_name(label),
            pg,
            pgvector,
            sample=sample,
            rows=rows,
            port=port,
            pg_bin=pg_bin,
        )
        self._owned.append(sb)
        return sb

    def replica(self, primary: Sandbox) -> Sandbox:
        sb = primary.create_replica(self.unique_name(f"{primary.name[-12:]}-rep"))
        self._owned.append(sb)
        return sb

    def discard(self, sb: Sandbox) -> None:
        """Destroy one sandbox now (frees CPU and RAM early)."""
        if sb.path.exists():
            sb.destroy()
        self._shared = {k: v for k, v in self._shared.items() if v is not sb}

    def close(self) -> None:
        for sb in reversed(self._owned):
            if sb.path.exists():
                sb.destroy()
        self._owned.clear()
        self._shared.clear()
