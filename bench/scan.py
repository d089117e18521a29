"""Benchmark: databases/second of ``vecpatch scan`` vs Ansible's ``postgresql_info``.

Not a test. Run: ``python bench/scan.py [--servers 4] [--databases 1000]``.

Builds ``--databases`` databases across ``--servers`` sandboxes (PostgreSQL 16.14 with
pgvector 0.8.5; every database a ``CREATE DATABASE ... TEMPLATE`` copy of one holding
the extension, a small vector table and an HNSW index), then times over the same
databases:

- vecpatch through the Python API (``vecpatch.scan.probe`` then ``assess``), best of
  ``--repeat`` runs, and the CLI once (``vecpatch scan --format json``, process start included);
- ``community.postgresql.postgresql_info`` with ``filter: databases,version,in_recovery``,
  one task per server: the module itself connects to every database of the server to read
  its extensions (the ``ansible`` and ``psycopg2-binary`` packages must be installed in this
  interpreter's environment; they are not project dependencies).

Goals (issue 4): >= 50x Ansible, and 1,000 databases in <= 10 s on a 2-core machine.
Every sandbox is destroyed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from vecpatch.catalog.store import load_catalog
from vecpatch.sandbox import Sandbox, destroy_all
from vecpatch.scan import ScanOptions, assess, probe
from vecpatch.targets import Target

PG, PGVECTOR = "16.14", "0.8.5"
TEMPLATE = "vp_template"
SEED = """
CREATE EXTENSION vector;
CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(8));
INSERT INTO items SELECT i, array_fill(i::real / 100, ARRAY[8])::vector
  FROM generate_series(1, 100) i;
CREATE INDEX items_embedding ON items USING hnsw (embedding vector_cosine_ops);
ANALYZE items;
"""


@contextmanager
def sandbox_dir() -> Iterator[Path]:
    """A private sandbox folder for this run, emptied (servers stopped) on the way out."""
    folder = Path(tempfile.mkdtemp(prefix="vecpatch-bench-"))
    folder.chmod(0o711)  # the unprivileged server user must traverse it when run as root
    previous = os.environ.get("VECPATCH_SANDBOX_DIR")
    os.environ["VECPATCH_SANDBOX_DIR"] = str(folder)
    try:
        yield folder
    finally:
        destroy_all()
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop("VECPATCH_SANDBOX_DIR", None)
        else:
            os.environ["VECPATCH_SANDBOX_DIR"] = previous


def build_server(index: int, databases: int) -> Sandbox:
    """One sandbox holding ``databases`` connectable databases in all (postgres, template1,
    the template, and copies)."""
    sb = Sandbox.create(f"bench-{os.getpid()}-{index}", PG, PGVECTOR)
    sb.run_sql(f"CREATE DATABASE {TEMPLATE}")
    with sb.connect(TEMPLATE) as conn:
        conn.execute(SEED)
    with sb.connect() as conn:
        for n in range(databases - 3):
            name = sql.Identifier(f"db{index}_{n:04d}")
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    name, sql.Identifier(TEMPLATE)
                )
            )
    return sb


def targets(servers: list[Sandbox]) -> list[Target]:
    return [Target(name=sb.name, dsn=sb.dsn(), databases="all") for sb in servers]


def time_api(servers: list[Sandbox], concurrency: int, repeat: int) -> tuple[float, float, int]:
    """Best wall time of probe, and of assess, and the databases scanned."""
    catalog = load_catalog()
    options = ScanOptions(concurrency=concurrency)
    best_probe = best_assess = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        facts = probe(targets(servers), options)
        middle = time.perf_counter()
        report = assess(facts, catalog, datetime.now(UTC), options)
        end = time.perf_counter()
        best_probe, best_assess = min(best_probe, middle - start), min(best_assess, end - middle)
        failed = [f for t in facts for f in t.failed_databases] + [t for t in facts if t.failure]
        if failed:
            raise SystemExit(f"bench: {len(failed)} databases failed: {failed[:3]}")
        count = report.database_count()
    return best_probe, best_assess, count


def time_cli(servers: list[Sandbox], concurrency: int, work: Path) -> tuple[float, int]:
    path = work / "targets.toml"
    path.write_text(
        "".join(
            f'[[targets]]\nname = "{sb.name}"\ndsn = "{sb.dsn()}"\ndatabases = "all"\n\n'
            for sb in servers
        )
    )
    vecpatch = Path(sys.executable).with_name("vecpatch")
    cmd = [str(vecpatch), "scan", "--targets", str(path), "--format", "json", "--no-history"]
    start = time.perf_counter()
    done = subprocess.run(
        [*cmd, "--concurrency", str(concurrency)], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench: vecpatch scan exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed, int(json.loads(done.stdout)["summary"]["databases"])


def time_ansible(servers: list[Sandbox], work: Path) -> tuple[float, int]:
    playbook = work / "info.yml"
    vars_file = work / "servers.json"
    vars_file.write_text(
        json.dumps(
            {
                "servers": [
                    {"port": sb.port, "password": conninfo_to_dict(sb.dsn())["password"]}
                    for sb in servers
                ]
            }
        )
    )
    playbook.write_text(
        f"""\
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: ["{vars_file}"]
  tasks:
    - name: postgresql_info on every server (connects to each database itself)
      community.postgresql.postgresql_info:
        login_host: 127.0.0.1
        login_port: "{{{{ item.port }}}}"
        login_user: postgres
        login_password: "{{{{ item.password }}}}"
        filter: databases,version,in_recovery
      loop: "{{{{ servers }}}}"
      loop_control: {{label: "{{{{ item.port }}}}"}}
      register: info
    - name: count databases
      ansible.builtin.copy:
        dest: "{work / "count.json"}"
        content: "{{{{ info.results | map(attribute='databases') | map('length') | sum }}}}"
"""
    )
    ansible = Path(sys.executable).with_name("ansible-playbook")
    env = {
        **os.environ,
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
    }
    start = time.perf_counter()
    done = subprocess.run(
        [str(ansible), "-i", "localhost,", str(playbook)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench: ansible-playbook failed:\n{done.stdout[-2000:]}")
    return elapsed, int((work / "count.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--databases", type=int, default=1000, help="in all, across servers")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="API runs; the best is reported")
    parser.add_argument("--no-ansible", action="store_true")
    args = parser.parse_args()
    per_server = args.databases // args.servers
    with sandbox_dir() as work:
        start = time.perf_counter()
        servers = [build_server(i, per_server) for i in range(args.servers)]
        print(
            f"built {args.servers} servers x {per_server} databases "
            f"in {time.perf_counter() - start:.1f} s"
        )
        probe_s, assess_s, count = time_api(servers, args.concurrency, args.repeat)
        api_s = probe_s + assess_s
        print(
            f"vecpatch API  {count} databases in {api_s:.2f} s (probe {probe_s:.2f} s, "
            f"assess {assess_s:.2f} s): {count / api_s:.0f} databases/s"
        )
        cli_s, cli_count = time_cli(servers, args.concurrency, work)
        print(
            f"vecpatch CLI  {cli_count} databases in {cli_s:.2f} s: "
            f"{cli_count / cli_s:.0f} databases/s"
        )
        if not args.no_ansible:
            ans_s, ans_count = time_ansible(servers, work)
            print(
                f"ansible       {ans_count} databases in {ans_s:.2f} s: "
                f"{ans_count / ans_s:.1f} databases/s"
            )
            ratio_api = (count / api_s) / (ans_count / ans_s)
            ratio_cli = (cli_count / cli_s) / (ans_count / ans_s)
            print(
                f"ratio vecpatch/ansible: API {ratio_api:.1f}x, CLI {ratio_cli:.1f}x (goal >= 50x)"
            )
        print(
            f"goal 1,000 databases in <= 10 s: API {'met' if api_s <= 10 else 'MISSED'} "
            f"({api_s:.2f} s), CLI {'met' if cli_s <= 10 else 'MISSED'} ({cli_s:.2f} s)"
        )


if __name__ == "__main__":
    main()
