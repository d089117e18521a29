"""Benchmark: median wall time of ``Sandbox.create`` for a cached pair vs bare initdb + start.

Not a test. Run: ``python bench/sandbox_create.py [--pg 16.4] [--pgvector 0.7.4] [--runs 5]``.
The baseline is the least any sandbox can cost: ``initdb`` then ``pg_ctl start -w`` with the
same binaries, no copy, no config, no password. The ratio is our overhead factor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from vecpatch.sandbox import Sandbox, destroy_all, find_build
from vecpatch.sandbox.builds import ensure_build
from vecpatch.sandbox.osuser import give, run_as, server_user
from vecpatch.sandbox.server import free_port


def time_create(pg: str, pgvector: str, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        sb = Sandbox.create(f"bench-{os.getpid()}-{i}", pg, pgvector)
        times.append(time.perf_counter() - start)
        sb.destroy()
    return times


def time_bare(bin_dir: Path, base: Path, runs: int) -> list[float]:
    user = server_user()
    times = []
    for i in range(runs):
        folder = base / f"bare-{i}"
        folder.mkdir(mode=0o755)
        give(folder, user)
        data, sock = folder / "data", folder / "sock"
        start = time.perf_counter()
        run_as(user, [bin_dir / "initdb", "-D", data, "-U", "postgres", "--no-sync"], cwd=folder)
        sock.mkdir()
        give(sock, user)
        opts = f"-p {free_port()} -k {sock} -c listen_addresses=127.0.0.1"
        log = folder / "log"
        run_as(
            user, [bin_dir / "pg_ctl", "-D", data, "-l", log, "-o", opts, "-w", "start"], cwd=folder
        )
        times.append(time.perf_counter() - start)
        run_as(user, [bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], cwd=folder)
        shutil.rmtree(folder)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="16.4")
    parser.add_argument("--pgvector", default="0.7.4")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="vecpatch-bench-"))
    base.chmod(0o711)
    os.environ["VECPATCH_SANDBOX_DIR"] = str(base)
    try:
        ensure_build(find_build(args.pg, args.pgvector))  # the benchmark is for a cached pair
        helper = Sandbox.create(f"bench-bin-{os.getpid()}", args.pg, args.pgvector)
        helper.stop()
        create = time_create(args.pg, args.pgvector, args.runs)
        bare = time_bare(helper.bin_dir, base, args.runs)
        med_create, med_bare = statistics.median(create), statistics.median(bare)
        print(f"pair: PostgreSQL {args.pg} / pgvector {args.pgvector}, runs: {args.runs}")
        print(f"Sandbox.create median: {med_create:.3f} s  (all: {[round(t, 3) for t in create]})")
        print(f"bare initdb+start median: {med_bare:.3f} s  (all: {[round(t, 3) for t in bare]})")
        print(f"ratio create/bare: {med_create / med_bare:.2f}")
    finally:
        destroy_all()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
