"""The wider functional suite (btree, COPY, operators, casts, errors, limits) on real builds.

Every check must hold on every sandbox version: each states what pgvector does, so a
failure here is either a broken build or a wrong expectation, never noise.
"""

from __future__ import annotations

import pytest

from vecpatch.sandbox.testing import SandboxFactory
from vecpatch.stage.behaviours import run_behaviours

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.mark.parametrize(("pg", "version"), [("16.2", "0.6.2"), ("16.4", "0.7.4"),
                                             ("16.14", "0.8.5")])  # fmt: skip
def test_every_behaviour_holds_on_each_version(
    sandbox_factory: SandboxFactory, pg: str, version: str
) -> None:
    sb = sandbox_factory.fresh(pg, version)
    try:
        with sb.connect() as conn:
            conn.execute("CREATE EXTENSION vector")
            with conn.transaction(force_rollback=True):
                checks = run_behaviours(conn, version, (1e-5, 1e-5))
    finally:
        sandbox_factory.discard(sb)
    failed = [(c.name, c.detail) for c in checks if not c.ok]
    assert failed == [], '\n'.join(map(str, failed))
    names = " ".join(c.name for c in checks)
    for word in ("btree", "binary COPY", "comparison", "NULL", "refused", "dimensions", "cast"):
        assert word in names
    if version != "0.6.2":
        assert "sparsevec btree" in names and "integer[] -> halfvec cast" in names
