"""Shared pytest fixtures: real PostgreSQL sandboxes for any test that needs a server.

Environment set for the whole session (before any test imports vecpatch paths):

- ``VECPATCH_CACHE``: kept if set, else pinned to the user's normal cache, so downloaded builds
  are reused across runs (CI downloads once).
- ``VECPATCH_STATE``: a fresh temp folder per session (per xdist worker).
- ``VECPATCH_SANDBOX_DIR``: a fresh traversable ``/tmp/vecpatch-sbx-<pid>-*`` folder per
  process, so workers never see each other's sandboxes. Folders left by killed runs (their pid
  is gone) are swept at the next session start; every server of this session is stopped at
  session end, or at interpreter exit if pytest itself is interrupted.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from platformdirs import user_cache_path

from vecpatch.sandbox import Sandbox, destroy_all
from vecpatch.sandbox.testing import SandboxFactory

from .pg15 import pg15_url  # noqa: F401  (a session fixture for every test module)

_SBX_PREFIX = "vecpatch-sbx-"
_session_dirs: list[Path] = []


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _destroy_dir(folder: Path) -> None:
    """Stop every server under a sandbox folder and remove it."""
    previous = os.environ.get("VECPATCH_SANDBOX_DIR")
    os.environ["VECPATCH_SANDBOX_DIR"] = str(folder)
    try:
        destroy_all()
    finally:
        if previous is None:
            os.environ.pop("VECPATCH_SANDBOX_DIR", None)
        else:
            os.environ["VECPATCH_SANDBOX_DIR"] = previous
        shutil.rmtree(folder, ignore_errors=True)


def _sweep_leftovers(tmp: Path) -> None:
    for folder in tmp.glob(f"{_SBX_PREFIX}*"):
        try:
            pid = int(folder.name[len(_SBX_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if not _pid_alive(pid) and folder.is_dir():
            _destroy_dir(folder)


def _cleanup_session() -> None:
    while _session_dirs:
        _destroy_dir(_session_dirs.pop())


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("VECPATCH_CACHE", str(user_cache_path("vecpatch")))
    os.environ["VECPATCH_STATE"] = tempfile.mkdtemp(prefix="vecpatch-state-")
    tmp = Path(tempfile.gettempdir())
    _sweep_leftovers(tmp)
    folder = Path(tempfile.mkdtemp(prefix=f"{_SBX_PREFIX}{os.getpid()}-", dir=tmp))
    folder.chmod(0o711)  # the unprivileged server user must traverse it when we are root
    os.environ["VECPATCH_SANDBOX_DIR"] = str(folder)
    _session_dirs.append(folder)
    atexit.register(_cleanup_session)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on real PostgreSQL servers gets one rerun when it fails.

    Two cores run the whole suite with dozens of live clusters; a test that fails once and
    passes on its rerun is still reported ("rerun" in the summary, with the first failure's
    reason), so a flaky test is seen and fixed rather than silently retried for ever.
    """
    real = {"sandbox_factory", "fresh_sandbox", "pg15_url"}
    for item in items:
        uses_servers = real & set(getattr(item, "fixturenames", ()))
        if uses_servers or item.get_closest_marker("sandbox") is not None:
            item.add_marker(pytest.mark.flaky(reruns=1))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Say why a test is rerun (the rerun summary names it but drops the failure)."""
    if report.outcome == "rerun":
        sys.stderr.write(f"\nRERUN {report.nodeid}:\n{report.longreprtext[-4000:]}\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    _cleanup_session()
    shutil.rmtree(os.environ.get("VECPATCH_STATE", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Session-wide sandbox provider (see ``SandboxFactory``)."""
    factory = SandboxFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def fresh_sandbox(sandbox_factory: SandboxFactory) -> Iterator[Callable[..., Sandbox]]:
    """A function making mutable sandboxes, destroyed at the end of the test.

    Call as ``fresh_sandbox("16.4", "0.7.4", sample=True, rows=1000)``.
    """
    made: list[Sandbox] = []

    def make(*args: object, **kwargs: object) -> Sandbox:
        sb = sandbox_factory.fresh(*args, **kwargs)  # type: ignore[arg-type]
        made.append(sb)
        return sb

    yield make
    for sb in made:
        sandbox_factory.discard(sb)
