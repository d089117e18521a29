"""Infer the platform from what a connection can see: a pure decision, first rule wins.

Managed services are recognised by the settings and roles only their providers create
(``rds.*``/``rds_superuser``, ``cloudsql.*``, ...), so they are tried first: their
``version()`` strings look like ordinary builds. Operators and containers come next
(paths and settings they write), then the build string of a packaged binary (``Debian``,
``pgdg``, ``Ubuntu``, ``Red Hat``), then installation paths. Nothing matched stays
``unknown``: a wrong guess would print commands for another platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vecpatch.platform.model import Platform, PlatformKind, PlatformMarkers

Rule = Callable[[PlatformMarkers], list[str]]

PROVIDER_SETTING_PREFIXES = (
    "rds.",
    "aurora.",
    "apg_plan_mgmt.",
    "cloudsql.",
    "alloydb.",
    "google_columnar_engine.",
    "azure.",
    "pgms_wait_sampling.",
    "neon.",
    "supautils.",
    "cnpg.",
)
"""Setting prefixes worth reporting (the probe lists the defined settings that have them)."""

PROVIDER_SETTINGS = (
    "rds.extensions",
    "rds.allowed_extensions",
    "rds.force_ssl",
    "rds.logical_replication",
    "apg_plan_mgmt.capture_plan_baselines",
    "aurora.enhanced_logical_replication",
    "cloudsql.iam_authentication",
    "cloudsql.enable_pgaudit",
    "cloudsql.logical_decoding",
    "alloydb.iam_authentication",
    "alloydb.enable_pgaudit",
    "google_columnar_engine.enabled",
    "azure.extensions",
    "azure.accepted_password_auth_method",
    "pgms_wait_sampling.query_capture_mode",
    "neon.timeline_id",
    "neon.tenant_id",
    "neon.pageserver_connstring",
    "supautils.reserved_roles",
    "supautils.privileged_extensions",
    "cnpg.config_sha256",
)
"""Names asked for one by one: a setting only a config file names (a placeholder, no module
loaded to define it) is readable with ``current_setting`` but absent from ``pg_settings``."""

PROVIDER_ROLES = (
    "rds_superuser",
    "rdsadmin",
    "cloudsqlsuperuser",
    "alloydbsuperuser",
    "azure_pg_admin",
    "azuresu",
    "neon_superuser",
    "supabase_admin",
    "supabase_auth_admin",
    "streaming_replica",
)
"""Roles a provider or operator creates (the probe lists those that exist)."""

PROVIDER_FUNCTIONS = ("aurora_version",)


def _settings(m: PlatformMarkers, *prefixes: str) -> list[str]:
    return [f"setting {s}" for s in m.settings if s.startswith(prefixes)]


def _roles(m: PlatformMarkers, *names: str) -> list[str]:
    return [f"role {r}" for r in m.roles if r in names]


def _neon(m: PlatformMarkers) -> list[str]:
    return _settings(m, "neon.") + _roles(m, "neon_superuser")


def _supabase(m: PlatformMarkers) -> list[str]:
    return _settings(m, "supautils.") + _roles(m, "supabase_admin", "supabase_auth_admin")


def _aurora(m: PlatformMarkers) -> list[str]:
    found = [f"function {f}()" for f in m.functions if f == "aurora_version"]
    found += _settings(m, "aurora.", "apg_plan_mgmt.")
    return found + _rds(m) if found else []


def _rds(m: PlatformMarkers) -> list[str]:
    return _settings(m, "rds.") + _roles(m, "rds_superuser", "rdsadmin")


def _alloydb(m: PlatformMarkers) -> list[str]:
    return _settings(m, "alloydb.", "google_columnar_engine.") + _roles(m, "alloydbsuperuser")


def _cloudsql(m: PlatformMarkers) -> list[str]:
    return _settings(m, "cloudsql.") + _roles(m, "cloudsqlsuperuser")


def _azure(m: PlatformMarkers) -> list[str]:
    return _settings(m, "azure.", "pgms_wait_sampling.") + _roles(m, "azure_pg_admin", "azuresu")


def _cloudnativepg(m: PlatformMarkers) -> list[str]:
    found = _settings(m, "cnpg.")
    if m.archive_command and "/controller/manager" in m.archive_command:
        found.append("archive_command runs /controller/manager (CloudNativePG instance manager)")
    if found:
        found += _roles(m, "streaming_replica")
    return found


def _sandbox(m: PlatformMarkers) -> list[str]:
    return ["cluster_name 'vecpatch-sandbox'"] if m.cluster_name == "vecpatch-sandbox" else []


_DOCKER_DATA = re.compile(r"^/var/lib/postgresql/(data(/pgdata)?|\d+/docker)/?$")


def _docker(m: PlatformMarkers) -> list[str]:
    """The image's PGDATA decides: ``/.dockerenv`` alone is any container, apt-managed too."""
    if not (m.data_directory and _DOCKER_DATA.match(m.data_directory)):
        return []
    found = [f"data_directory {m.data_directory} (the official image's PGDATA)"]
    return found + (["/.dockerenv exists on the server's host"] if m.dockerenv else [])


def _homebrew(m: PlatformMarkers) -> list[str]:
    found = ["version() says Homebrew"] if "Homebrew" in m.version_string else []
    bindir = (m.pg_config or {}).get("BINDIR", "")
    for where, value in (("pg_config BINDIR", bindir), ("data_directory", m.data_directory or "")):
        if value.startswith(("/opt/homebrew/", "/usr/local/Cellar/", "/usr/local/var/postgres")):
            found.append(f"{where} {value}")
    return found


_PGDG_BUILD = re.compile(r"\((Debian|Ubuntu) [^)]*\.pgdg[^)]*\)")
_DISTRO_BUILD = re.compile(r"\((Debian|Ubuntu) ([^)]*)\)")


def _pgdg_apt(m: PlatformMarkers) -> list[str]:
    found = _PGDG_BUILD.search(m.version_string)
    return [f"version() build {found.group(0)} (a PGDG apt package)"] if found else []


def _ubuntu(m: PlatformMarkers) -> list[str]:
    found = _DISTRO_BUILD.search(m.version_string)
    if found and found.group(1) == "Ubuntu" and "ubuntu" in found.group(2):
        return [f"version() build {found.group(0)} (Ubuntu's archive)"]
    return []


def _debian(m: PlatformMarkers) -> list[str]:
    found = _DISTRO_BUILD.search(m.version_string)
    if not found or found.group(1) != "Debian":
        return []
    evidence = [f"version() build {found.group(0)} (Debian's archive)"]
    if re.fullmatch(r"\d+/[\w.-]+", m.cluster_name):
        evidence.append(f"cluster_name '{m.cluster_name}' (pg_createcluster)")
    return evidence


_PGDG_YUM_PATH = re.compile(r"^/(usr/pgsql-\d+|var/lib/pgsql/\d+)(/|$)")


def _pgdg_yum(m: PlatformMarkers) -> list[str]:
    values = (
        ("pg_config BINDIR", (m.pg_config or {}).get("BINDIR", "")),
        ("data_directory", m.data_directory or ""),
    )
    return [f"{where} {value}" for where, value in values if _PGDG_YUM_PATH.match(value)]


def _rhel(m: PlatformMarkers) -> list[str]:
    if "Red Hat" not in m.version_string:
        return []
    evidence = ["version() compiled by Red Hat's gcc"]
    if (m.data_directory or "").startswith("/var/lib/pgsql/data"):
        evidence.append(f"data_directory {m.data_directory} (the distro package's default)")
    return evidence


def _source(m: PlatformMarkers) -> list[str]:
    bindir = (m.pg_config or {}).get("BINDIR", "")
    if bindir.startswith("/usr/local/pgsql"):
        return [f"pg_config BINDIR {bindir} (make install's default prefix)"]
    return []


RULES: tuple[tuple[PlatformKind, Rule], ...] = (
    (PlatformKind.NEON, _neon),
    (PlatformKind.SUPABASE, _supabase),
    (PlatformKind.AURORA, _aurora),
    (PlatformKind.RDS, _rds),
    (PlatformKind.ALLOYDB, _alloydb),
    (PlatformKind.CLOUDSQL, _cloudsql),
    (PlatformKind.AZURE, _azure),
    (PlatformKind.CLOUDNATIVEPG, _cloudnativepg),
    (PlatformKind.SANDBOX, _sandbox),
    (PlatformKind.DOCKER, _docker),
    (PlatformKind.HOMEBREW, _homebrew),
    (PlatformKind.PGDG_APT, _pgdg_apt),
    (PlatformKind.UBUNTU, _ubuntu),
    (PlatformKind.DEBIAN, _debian),
    (PlatformKind.PGDG_YUM, _pgdg_yum),
    (PlatformKind.RHEL, _rhel),
    (PlatformKind.SOURCE, _source),
)
"""Most specific first: a PGDG image in Docker is ``docker``; RDS's Red Hat gcc is ``rds``."""


def detect(markers: PlatformMarkers) -> Platform:
    """The first platform whose markers are present, with every marker that matched."""
    for kind, rule in RULES:
        evidence = rule(markers)
        if evidence:
            return Platform(kind, tuple(evidence))
    return Platform(PlatformKind.UNKNOWN, ("no platform marker seen",))


def configured(kind: PlatformKind, detected: Platform) -> Platform:
    """The targets file's ``platform`` wins; the evidence keeps what detection saw."""
    seen = f"detected {detected.kind.value}: " + "; ".join(detected.evidence)
    return Platform(kind, (f"targets file: platform = {kind.value!r}", seen), configured=True)
