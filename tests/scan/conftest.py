"""A real fleet shared by the scan tests of one module.

Built once per module on ``sandbox_factory`` (three clusters and one streaming replica,
about 20 s), then scanned many ways. Tests only read from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vecpatch.sandbox.testing import SandboxFactory

from .fleet import Fleet, build_fleet


@pytest.fixture(scope="module")
def fleet(sandbox_factory: SandboxFactory) -> Iterator[Fleet]:
    built = build_fleet(sandbox_factory)
    try:
        yield built
    finally:
        for sb in (built.replica, built.current, built.behind, built.old):
            sandbox_factory.discard(sb)


@pytest.fixture(scope="module")
def targets_file(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("targets") / "fleet.toml"
    path.write_text(fleet.targets_toml())
    return path
