"""Benchmark: vecpatch apply vs Ansible's postgresql_ext on 100 databases each (not a test).

One PG 16.4 / pgvector 0.7.4 sandbox; a template database holding pgvector, a small table
and an HNSW index; 100 databases ``vp_NNN`` and 100 ``an_NNN`` made from it; the package
swapped to 0.8.5. vecpatch updates the ``vp_`` set with every check on (preflight, schema
backup verified with pg_restore --list, checked transaction, post-commit verification,
stale sessions with --reconnect-stale); Ansible's ``community.postgresql.postgresql_ext``
(``version: latest``) updates the ``an_`` set. A KNN load (4 clients, one long-lived session
opened before the swap) runs throughout; a client that loses its session reconnects and
retries once. Needs ``ansible`` and ``psycopg2-binary`` in the venv (bench time only).

    .venv/bin/python bench/apply.py [--databases 100] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROWS, DIM = 200, 16


def _setup(n: int) -> object:
    from vecpatch.sandbox import Sandbox

    sb = Sandbox.create(f"bench-apply-{os.getpid()}", "16.4", "0.7.4")
    rng = random.Random(7)
    with sb.connect() as conn:
        conn.execute("CREATE DATABASE tpl")
    with sb.connect("tpl") as conn:
        conn.execute("CREATE EXTENSION vector")
        conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({DIM}))")
        with conn.cursor().copy("COPY items FROM STDIN") as copy:
            for i in range(ROWS):
                vec = ",".join(f"{rng.random():.4f}" for _ in range(DIM))
                copy.write(f"{i}\t[{vec}]\n")
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    with sb.connect() as conn:
        for prefix in ("vp", "an"):
            for i in range(n):
                conn.execute(f"CREATE DATABASE {prefix}_{i:03d} TEMPLATE tpl")
    return sb


class Load:
    """4 KNN clients; client 0 keeps one session from before the swap until it is lost."""

    def __init__(self, sb: object, dbs: list[str]) -> None:
        self.sb, self.dbs = sb, dbs
        self.stop = threading.Event()
        self.queries = self.errors = self.failed = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(4)]
        self.first = psycopg.connect(self._dsn(dbs[0]), autocommit=True)
        self._knn(self.first)  # loads the old vector.so in this long-lived session

    def _dsn(self, db: str) -> str:
        return self.sb.socket_dsn(db) + "&application_name=bench-client"  # type: ignore[attr-defined]

    @staticmethod
    def _knn(conn: psycopg.Connection[object]) -> None:
        q = "[" + ",".join("0.5" for _ in range(DIM)) + "]"
        conn.execute("SELECT id FROM items ORDER BY embedding <-> %s::vector LIMIT 5", [q])

    def _client(self, i: int) -> None:
        db = self.dbs[i % len(self.dbs)]
        conn = self.first if i == 0 else psycopg.connect(self._dsn(db), autocommit=True)
        while not self.stop.is_set():
            try:
                self._knn(conn)
            except psycopg.Error:
                with self.lock:
                    self.errors += 1
                conn.close()
                try:
                    conn = psycopg.connect(self._dsn(db), autocommit=True)
                    self._knn(conn)
                except psycopg.Error:
                    with self.lock:
                        self.failed += 1
            with self.lock:
                self.queries += 1
            time.sleep(0.005)
        conn.close()

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def _vecpatch(sb: object, n: int, concurrency: int, work: Path) -> tuple[float, int]:
    from vecpatch.apply import ApplyOptions, BackupKind, run_apply
    from vecpatch.catalog.store import load_catalog
    from vecpatch.targets import load_targets

    names = ", ".join(f'"vp_{i:03d}"' for i in range(n))
    tfile = work / "targets.toml"
    tfile.write_text(
        f'[[targets]]\nname = "bench"\ndsn = "{sb.dsn()}"\ndatabases = [{names}]\n'  # type: ignore[attr-defined]
    )
    opts = ApplyOptions(
        to="0.8.5", backup=BackupKind.SCHEMA, yes=True, soak=0, reconnect_stale=True,
        pg_bin=sb.bin_dir, concurrency=concurrency, backup_dir=work / "backups",  # type: ignore[attr-defined]
        evidence_dir=work / "evidence",
    )  # fmt: skip

    class Ui:
        def info(self, message: str) -> None:
            pass

        def confirm(self, target: str, summary: str) -> bool:
            return True

    targets = list(load_targets(tfile).targets)
    start = time.monotonic()
    result = run_apply(targets, opts, load_catalog(offline=True), None, Ui())
    elapsed = time.monotonic() - start
    applied = sum(1 for d in result.databases if d.outcome.value == "applied")
    for d in result.databases:
        if d.outcome.value != "applied":
            print(f"  {d.database}: {d.outcome.value}: {'; '.join(d.reasons)[:300]}")
    return elapsed, applied


def _ansible(sb: object, n: int, work: Path) -> tuple[float, int]:
    dbs = ", ".join(f"an_{i:03d}" for i in range(n))
    book = work / "play.yml"
    book.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - community.postgresql.postgresql_ext:\n"
        "        name: vector\n        version: latest\n        db: '{{ item }}'\n"
        f"        login_host: 127.0.0.1\n        port: {sb.port}\n"  # type: ignore[attr-defined]
        "        login_user: postgres\n"
        '        login_password: \'{{ lookup("env", "BENCH_PW") }}\'\n'
        f"      loop: [{dbs}]\n"
    )
    env = {**os.environ, "BENCH_PW": sb._password(), "ANSIBLE_PYTHON_INTERPRETER": sys.executable}  # type: ignore[attr-defined]
    exe = Path(sys.executable).parent / "ansible-playbook"
    start = time.monotonic()
    proc = subprocess.run(
        [str(exe), "-i", "localhost,", str(book)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
    return elapsed, sum(
        1
        for (v,) in [
            r
            for d in range(n)
            for r in sb.run_sql(
                "SELECT extversion FROM pg_extension WHERE extname='vector'", dbname=f"an_{d:03d}"
            )
        ]  # type: ignore[attr-defined]
        if v == "0.8.5"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix=f"vecpatch-sbx-{os.getpid()}-bench-"))
    root.chmod(0o711)
    os.environ["VECPATCH_SANDBOX_DIR"] = str(root)
    state = Path(tempfile.mkdtemp(prefix="vecpatch-bench-state-"))
    os.environ.setdefault("VECPATCH_STATE", str(state))
    work = Path(tempfile.mkdtemp(prefix="vecpatch-bench-"))
    sb = _setup(args.databases)
    try:
        load_dbs = [f"vp_{i:03d}" for i in range(4)]
        with Load(sb, load_dbs) as load:
            sb.install_extension("0.8.5")  # type: ignore[attr-defined]
            vp_time, vp_ok = _vecpatch(sb, args.databases, args.concurrency, work)
            an_time, an_ok = _ansible(sb, args.databases, work)
        print(
            f"vecpatch apply : {vp_time:7.2f} s  ({vp_ok}/{args.databases} applied, all checks on)"
        )
        print(f"ansible        : {an_time:7.2f} s  ({an_ok}/{args.databases} at 0.8.5)")
        print(f"ratio          : {an_time / vp_time:7.1f}x")
        print(
            f"KNN load       : {load.queries} queries, {load.errors} session losses, "
            f"{load.failed} failed after reconnect"
        )
    finally:
        sb.destroy()  # type: ignore[attr-defined]
        for folder in (work, state, root):  # backups, evidence, state: nothing left behind
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
