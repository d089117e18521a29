"""Where sandboxes live and the JSON record kept for each one.

As root, the folder must be traversable by the unprivileged server user, so the default is a
root-owned ``/tmp/vecpatch-sandbox-root`` (mode 0711) rather than ``~/.local/state``;
otherwise it is ``state_dir()/sandboxes``. ``VECPATCH_SANDBOX_DIR`` overrides both.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vecpatch import paths
from vecpatch.atomic import atomic_write
from vecpatch.errors import UsageError
from vecpatch.sandbox.osuser import is_root

META_FILE = "sandbox.json"
PASSWORD_FILE = "password"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def sandboxes_dir() -> Path:
    """The folder holding one sub-folder per sandbox (created, traversable)."""
    override = os.environ.get("VECPATCH_SANDBOX_DIR")
    if override:
        base = Path(override)
    elif is_root():
        base = Path("/tmp/vecpatch-sandbox-root")
    else:
        base = paths.state_dir() / "sandboxes"
    base.mkdir(parents=True, exist_ok=True)
    if is_root():
        os.chmod(base, 0o711)
    return base


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"invalid sandbox name {name!r}",
            hint="use letters, digits, '.', '_' or '-' (at most 63 characters)",
        )
    return name


@dataclass
class SandboxMeta:
    """The persistent record of a sandbox; paths are absolute. No secrets in here."""

    name: str
    pg: str
    pgvector: str | None
    port: int
    root: str
    bin_dir: str
    socket_dir: str
    source: str
    created: str
    external: bool = False
    replica_of: str | None = None
    pid: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.root)

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def log_file(self) -> Path:
        return self.path / "log" / "postgres.log"

    def save(self) -> None:
        atomic_write(self.path / META_FILE, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> SandboxMeta:
        data = json.loads((folder / META_FILE).read_text())
        return cls(**data)
