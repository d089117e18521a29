"""Running server processes as an unprivileged user when vecpatch itself runs as root.

``initdb`` and ``postgres`` refuse to run as root, and CI runs as root. Then every server-side
command runs as the dedicated system user ``vecpatch`` (created on first use), and the folders
it writes (data, sockets, logs) are handed to it. As a normal user nothing changes.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vecpatch.errors import VecpatchError

SERVICE_USER = "vecpatch"


@dataclass(frozen=True)
class OsUser:
    """Who server processes run as."""

    name: str
    uid: int
    gid: int
    home: str


def is_root() -> bool:
    return os.geteuid() == 0


def server_user() -> OsUser:
    """The user that owns data directories and runs the servers (creating it if needed)."""
    if not is_root():
        entry = pwd.getpwuid(os.geteuid())
        return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        _create_service_user()
        entry = pwd.getpwnam(SERVICE_USER)
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, "/")


def _create_service_user() -> None:
    cmd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    proc = subprocess.run([*cmd, SERVICE_USER], capture_output=True, text=True, check=False)
    # A concurrent process may have created it first: that is success too.
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise VecpatchError(
            f"cannot create the system user {SERVICE_USER!r} needed to run PostgreSQL as root: "
            f"{proc.stderr.strip()}"
        ) from None


def give(path: Path, user: OsUser, *, recursive: bool = False) -> None:
    """Make ``path`` owned by the server user (no-op when not root)."""
    if not is_root():
        return
    os.chown(path, user.uid, user.gid)
    if recursive:
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), user.uid, user.gid, follow_symlinks=False)


def run_as(
    user: OsUser, cmd: Sequence[str | Path], *, cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a server-side command as ``user``; raise with its output tail on failure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(HOME=user.home, USER=user.name, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    switch = is_root() and user.uid != 0
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        user=user.uid if switch else None,
        group=user.gid if switch else None,
        extra_groups=[] if switch else None,
    )
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr + proc.stdout).strip().splitlines()[-8:])
        raise VecpatchError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}): {tail}")
    return proc
