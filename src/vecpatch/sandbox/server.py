"""Low-level server control for one data directory: config, ports, start, stop, liveness."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from pathlib import Path

from vecpatch.errors import VecpatchError
from vecpatch.sandbox.osuser import OsUser, give, run_as

log = logging.getLogger(__name__)

CONF_FILE = "vecpatch.conf"
MAX_PORT_TRIES = 6

HBA = """\
# Written by vecpatch sandbox: socket trust, loopback TCP with a password only.
local   all             all                         trust
local   replication     all                         trust
host    all             all         127.0.0.1/32    scram-sha-256
host    replication     all         127.0.0.1/32    scram-sha-256
"""


def free_port() -> int:
    """A port the kernel says is free on 127.0.0.1 right now (may be taken later: retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether PostgreSQL could listen on ``port``.

    PostgreSQL binds with SO_REUSEADDR, so connections of a just-stopped server lingering
    in TIME_WAIT do not block a restart; the check must bind the same way, or a restarted
    sandbox would move to another port and break every DSN that names the old one.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def write_config(data_dir: Path, port: int, socket_dir: Path, user: OsUser) -> None:
    """Our settings live in an included file, so re-writing them never touches the rest."""
    conf = data_dir / CONF_FILE
    conf.write_text(
        f"port = {port}\n"
        "listen_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "max_connections = 100\n"
        "shared_buffers = 32MB\n"
        "fsync = off\n"
        "synchronous_commit = off\n"
        "wal_level = replica\n"
        "max_wal_senders = 10\n"
        "hot_standby = on\n"
        "password_encryption = 'scram-sha-256'\n"
        "cluster_name = 'vecpatch-sandbox'\n"  # how a scan tells a sandbox from a real server
    )
    give(conf, user)
    main_conf = data_dir / "postgresql.conf"
    if f"include '{CONF_FILE}'" not in main_conf.read_text():
        with main_conf.open("a") as fh:
            fh.write(f"\ninclude '{CONF_FILE}'\n")
    hba = data_dir / "pg_hba.conf"
    hba.write_text(HBA)
    give(hba, user)


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid in ``postmaster.pid`` if that process is alive and is a postgres."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if pid_is_postgres(pid) else None


def pid_is_postgres(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ProcessLookupError):
        return False
    return b"postgres" in cmdline


def start(bin_dir: Path, data_dir: Path, log_file: Path, user: OsUser, cwd: Path) -> bool:
    """Start and wait until ready. False means the port was taken (caller picks another)."""
    offset = log_file.stat().st_size if log_file.exists() else 0
    cmd: list[str | Path] = [
        bin_dir / "pg_ctl",
        "-D",
        data_dir,
        "-l",
        log_file,
        "-w",
        "-t",
        "60",
        "start",
    ]
    proc = run_as(user, cmd, cwd=cwd, check=False)
    if proc.returncode == 0:
        return True
    tail = _log_since(log_file, offset)
    if "Address already in use" in tail or "could not create any TCP/IP sockets" in tail:
        return False
    raise VecpatchError(
        f"PostgreSQL did not start (pg_ctl exit {proc.returncode}): "
        + "\n".join((tail or proc.stderr + proc.stdout).strip().splitlines()[-8:]),
        hint=f"full log: {log_file}",
    )


def _log_since(log_file: Path, offset: int) -> str:
    try:
        with log_file.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def stop(bin_dir: Path | None, data_dir: Path, user: OsUser, cwd: Path) -> None:
    """Fast shutdown with pg_ctl; if that fails (or no binaries), signal the postmaster."""
    pid = postmaster_pid(data_dir)
    if pid is None:
        return
    if bin_dir is not None and (bin_dir / "pg_ctl").exists():
        cmd: list[str | Path] = [
            bin_dir / "pg_ctl",
            "-D",
            data_dir,
            "-m",
            "fast",
            "-w",
            "-t",
            "30",
            "stop",
        ]
        if run_as(user, cmd, cwd=cwd, check=False).returncode == 0:
            return
    kill_postmaster(pid)


def kill_postmaster(pid: int, timeout: float = 10.0) -> None:
    """Immediate shutdown (SIGQUIT), then SIGKILL if it lingers."""
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_is_postgres(pid):
                return
            time.sleep(0.05)
    log.warning("postmaster %d did not exit", pid)
