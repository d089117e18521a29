"""The plan shows the detected platform's steps only, with what that platform really ships."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.builders import NOW, database, server, target
from vecpatch.catalog.model import Catalog
from vecpatch.catalog.store import load_catalog
from vecpatch.plan import PlanPolicy, TargetPlan, plan_target
from vecpatch.platform.host import HostFacts, PackageOffer
from vecpatch.platform.model import Platform, PlatformKind


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(offline=True)


def _plan(
    catalog: Catalog,
    kind: PlatformKind,
    version: str = "15.18",
    host: HostFacts | None = None,
    on_disk: str = "0.8.0",
) -> TargetPlan:
    srv = replace(server(version), platform=Platform(kind, ("test",), cluster="main"))
    facts = replace(target(srv, database("0.8.0", on_disk)), host_facts=host)
    return plan_target(facts, catalog, PlanPolicy(), NOW)


def _text(plan: TargetPlan) -> str:
    lines = [v for _, v in plan.package.instructions] if plan.package else []
    lines += [v for _, v in plan.pg_minor.commands] if plan.pg_minor else []
    return "\n".join(lines)


DEBIAN_HOST = HostFacts(
    access="local",
    manager="apt",
    packages=(
        PackageOffer("postgresql-15", "15.18-0+deb12u1", "15.20-0+deb12u1",
                     ("15.20-0+deb12u1", "15.18-0+deb12u1")),
        PackageOffer("postgresql-15-pgvector", None, "0.8.0-1", ("0.8.0-1",)),
    ),
)  # fmt: skip


def test_debian_with_host_facts_targets_what_debian_ships(catalog: Catalog) -> None:
    plan = _plan(catalog, PlatformKind.DEBIAN, host=DEBIAN_HOST)
    assert plan.platform == "debian"
    minor = plan.pg_minor
    assert minor is not None and minor.target == "15.20" and minor.package_version
    assert minor.commands == (
        ("install", "apt-get install -y postgresql-15=15.20-0+deb12u1"),
        ("restart", "pg_ctlcluster 15 main restart"),
    )
    assert any("15.20" in n for n in minor.notes)
    text = _text(plan)
    for other in ("dnf", "brew", "docker", "pgvector/pgvector", "git checkout", "RDS"):
        assert other not in text, text


def test_debian_without_the_package_says_pgdg_and_what_it_replaces(catalog: Catalog) -> None:
    plan = _plan(catalog, PlatformKind.DEBIAN)
    assert plan.package is not None
    text = _text(plan)
    assert "apt.postgresql.org.sh" in text and "replaces the distribution's" in text
    assert "dnf" not in text and "brew" not in text
    assert plan.pg_minor is not None and any("apt-cache policy" in n for n in plan.pg_minor.notes)


def test_a_local_package_of_the_target_is_installed_exactly(catalog: Catalog) -> None:
    host = replace(
        DEBIAN_HOST,
        packages=(
            DEBIAN_HOST.packages[0],
            PackageOffer("postgresql-15-pgvector", None, "0.8.6-1", ("0.8.6-1",)),
        ),
    )
    plan = _plan(catalog, PlatformKind.DEBIAN, host=host)
    assert plan.package is not None and plan.package.version == "0.8.6"
    assert plan.package.instructions == (
        ("debian: install (offered by the host's repositories)",
         "apt-get install -y postgresql-15-pgvector=0.8.6-1"),
    )  # fmt: skip


def test_pgdg_yum_and_docker_print_their_own_commands(catalog: Catalog) -> None:
    yum = _text(_plan(catalog, PlatformKind.PGDG_YUM, "16.4"))
    assert "dnf install -y pgvector_16-0.8.6" in yum and "systemctl restart postgresql-16" in yum
    assert "apt-get" not in yum
    docker = _text(_plan(catalog, PlatformKind.DOCKER, "16.4"))
    assert "pgvector/pgvector:0.8.6-pg16" in docker and "apt-get" not in docker


@pytest.mark.parametrize("kind", [PlatformKind.RDS, PlatformKind.AZURE, PlatformKind.AURORA])
def test_a_managed_service_says_what_it_offers_and_what_stays_exposed(
    catalog: Catalog, kind: PlatformKind
) -> None:
    plan = _plan(catalog, kind, "16.4")
    package = plan.package
    assert package is not None and package.reachable == "0.8.0"
    text = _text(plan)
    assert "default_version" in text and "apt-get" not in text and "dnf" not in text
    if kind is PlatformKind.AURORA:
        assert "unknown" in text  # no public source recorded: said, not guessed
    else:
        assert "http" in text  # each recorded fact carries its source
    assert plan.pg_minor is not None and plan.pg_minor.commands[0][0] == "engine"


def test_unknown_platform_keeps_every_family_and_asks_for_the_key(catalog: Catalog) -> None:
    plan = _plan(catalog, PlatformKind.UNKNOWN, "16.4")
    assert plan.package is not None
    labels = [k for k, _ in plan.package.instructions]
    assert labels[0] == "platform unknown" and "Homebrew" in labels
