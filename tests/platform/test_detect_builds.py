"""Detection from build strings and paths (what packaged and container servers expose).

``version()``, ``data_directory`` and the ``pg_config`` view cannot be set on a sandbox, so
these decisions are checked on the strings real builds print.
"""

from __future__ import annotations

import pytest

from vecpatch.platform.detect import detect
from vecpatch.platform.model import PlatformKind, PlatformMarkers

GCC = "compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"
CASES = [
    (PlatformMarkers(f"PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, {GCC}",
                     cluster_name="15/main"), PlatformKind.DEBIAN),
    (PlatformMarkers(f"PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu, {GCC}",
                     data_directory="/var/lib/postgresql/16/main"), PlatformKind.PGDG_APT),
    (PlatformMarkers("PostgreSQL 16.9 (Ubuntu 16.9-0ubuntu0.24.04.1) on x86_64-pc-linux-gnu"),
     PlatformKind.UBUNTU),
    (PlatformMarkers("PostgreSQL 16.4 (Ubuntu 16.4-1.pgdg22.04+1) on x86_64-pc-linux-gnu"),
     PlatformKind.PGDG_APT),
    (PlatformMarkers(f"PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu, {GCC}",
                     data_directory="/var/lib/postgresql/data"), PlatformKind.DOCKER),
    (PlatformMarkers("PostgreSQL 16.4 on x86_64-pc-linux-gnu, compiled by gcc (GCC) 11.4.1 "
                     "20231218 (Red Hat 11.4.1-3), 64-bit", data_directory="/var/lib/pgsql/16/data",
                     pg_config={"BINDIR": "/usr/pgsql-16/bin"}), PlatformKind.PGDG_YUM),
    (PlatformMarkers("PostgreSQL 15.6 on x86_64-redhat-linux-gnu, compiled by gcc (GCC) 11.4.1 "
                     "20231218 (Red Hat 11.4.1-3), 64-bit", data_directory="/var/lib/pgsql/data"),
     PlatformKind.RHEL),
    (PlatformMarkers("PostgreSQL 16.3 on aarch64-apple-darwin23.4.0, compiled by Apple clang",
                     pg_config={"BINDIR": "/opt/homebrew/Cellar/postgresql@16/16.3/bin"}),
     PlatformKind.HOMEBREW),
    (PlatformMarkers("PostgreSQL 17.2 on x86_64-pc-linux-gnu, compiled by gcc 12, 64-bit",
                     pg_config={"BINDIR": "/usr/local/pgsql/bin"}), PlatformKind.SOURCE),
    (PlatformMarkers("PostgreSQL 16.3 on x86_64-pc-linux-gnu, compiled by gcc (GCC) 7.3.1 "
                     "20180712 (Red Hat 7.3.1-12), 64-bit", settings=("rds.extensions",)),
     PlatformKind.RDS),
    (PlatformMarkers("PostgreSQL 17.2 on x86_64-pc-linux-gnu, compiled by gcc 12, 64-bit"),
     PlatformKind.UNKNOWN),
]  # fmt: skip


@pytest.mark.parametrize(("markers", "kind"), CASES, ids=[k.value for _, k in CASES])
def test_build_strings_and_paths(markers: PlatformMarkers, kind: PlatformKind) -> None:
    found = detect(markers)
    assert found.kind is kind, found
    assert found.evidence


def test_a_container_with_debian_packages_is_not_docker() -> None:
    """``/.dockerenv`` alone (this very machine) is no image: apt still patches it."""
    found = detect(
        PlatformMarkers(
            f"PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, {GCC}",
            data_directory="/var/lib/postgresql/15/main",
            dockerenv=True,
        )
    )
    assert found.kind is PlatformKind.DEBIAN
