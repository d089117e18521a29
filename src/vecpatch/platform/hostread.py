"""Read host facts by running read-only commands on the database host.

``local`` runs them here; any other ``host_command`` is a prefix (``ssh db1``) that gets the
command as one quoted argument. Every command is read-only (``apt-cache policy``, ``rpm
-q``, ``pg_lsclusters``, ``readlink /proc/PID/exe``); a command that fails or is missing
becomes a problem in the facts, never an exception and never an empty "all fine".
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from datetime import UTC, datetime

from vecpatch.platform.host import Cluster, HostFacts, PackageOffer, Postmaster
from vecpatch.probe.facts import ServerFacts

TIMEOUT = 60.0


def wrap(access: str, command: str) -> str:
    """The shell command that runs ``command`` on the host (``access``: local or a prefix)."""
    return command if access == "local" else f"{access} {shlex.quote(command)}"


def _sh(access: str, command: str) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            wrap(access, command), shell=True, capture_output=True, text=True,
            timeout=TIMEOUT, check=False, env={**os.environ, "LC_ALL": "C"},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {TIMEOUT:.0f} s"
    except OSError as exc:
        return 127, str(exc)
    return proc.returncode, proc.stdout if proc.returncode == 0 else proc.stderr or proc.stdout


def read_host(access: str, server: ServerFacts) -> HostFacts:
    """Packages, clusters and the postmaster of the server ``server`` describes."""
    problems: list[str] = []
    code, out = _sh(access, "command -v apt-cache || command -v rpm")
    manager = None
    if code == 0 and "apt-cache" in out:
        manager = "apt"
    elif code == 0 and "rpm" in out:
        manager = "dnf"
    else:
        problems.append(f"no apt-cache or rpm on the host ({out.strip()[:200] or code})")
    major = str(server.major)
    packages: tuple[PackageOffer, ...] = ()
    if manager == "apt":
        names = [f"postgresql-{major}", f"postgresql-{major}-pgvector"]
        packages = _apt_packages(access, names, problems)
    elif manager == "dnf":
        names = [f"postgresql{major}-server", f"pgvector_{major}", "postgresql-server", "pgvector"]
        packages = _rpm_packages(access, names, problems)
    clusters = _clusters(access, problems)
    data_dir = server.platform.data_directory if server.platform else None
    postmaster = _postmaster(access, data_dir, clusters, server, problems)
    return HostFacts(access, manager, packages, clusters, postmaster, tuple(problems))


def parse_policy(text: str) -> list[PackageOffer]:
    """``apt-cache policy A B``: installed, candidate and the version table of each."""
    offers: list[PackageOffer] = []
    for block in re.split(r"(?m)^(?=\S+:$)", text):
        head = re.match(r"(\S+):\n", block)
        if head is None:
            continue
        installed = re.search(r"Installed: (\S+)", block)
        candidate = re.search(r"Candidate: (\S+)", block)
        versions = re.findall(r"(?m)^ (?:\*\*\*| {3}) (\S+) \d+$", block)
        offers.append(
            PackageOffer(
                head.group(1),
                _none(installed.group(1) if installed else None),
                _none(candidate.group(1) if candidate else None),
                tuple(versions),
            )
        )
    return offers


def _none(value: str | None) -> str | None:
    return None if value in (None, "(none)") else value


def _apt_packages(access: str, names: list[str], problems: list[str]) -> tuple[PackageOffer, ...]:
    code, out = _sh(access, "apt-cache policy " + " ".join(names))
    if code != 0:
        problems.append(f"apt-cache policy failed: {out.strip()[:200]}")
        return ()
    offers = []
    for offer in parse_policy(out):
        if offer.installed:
            code, stamp = _sh(access, f"stat -c %Y /var/lib/dpkg/info/{offer.name}.list")
            if code == 0 and stamp.strip().isdigit():
                changed = datetime.fromtimestamp(int(stamp.strip()), UTC)
                offer = PackageOffer(offer.name, offer.installed, offer.candidate,
                                     offer.versions, changed)  # fmt: skip
        offers.append(offer)
    return tuple(offers)


def _rpm_packages(access: str, names: list[str], problems: list[str]) -> tuple[PackageOffer, ...]:
    query = "rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE} %{INSTALLTIME}\\n' " + " ".join(names)
    _code, out = _sh(access, query)  # rpm exits 1 when any name is not installed
    installed = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            installed[parts[0]] = (parts[1], datetime.fromtimestamp(int(parts[2]), UTC))
    code, listing = _sh(access, "dnf -q list --showduplicates " + " ".join(names))
    if code not in (0, 1):
        problems.append(f"dnf list failed: {listing.strip()[:200]}")
    offered: dict[str, list[str]] = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and "." in parts[0]:
            name = parts[0].rsplit(".", 1)[0]
            offered.setdefault(name, []).insert(0, parts[1])
    offers = []
    for name in names:
        version, when = installed.get(name, (None, None))
        versions = tuple(offered.get(name, ()))
        if version is not None or versions:
            first = versions[0] if versions else None
            offers.append(PackageOffer(name, version, first, versions, when))
    return tuple(offers)


def _clusters(access: str, problems: list[str]) -> tuple[Cluster, ...]:
    code, out = _sh(access, "command -v pg_lsclusters >/dev/null && pg_lsclusters -h")
    if code != 0:
        return ()  # not a Debian-style host: nothing to list, nothing wrong
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[2].isdigit():
            log = parts[6] if len(parts) > 6 else None
            found.append(Cluster(parts[0], parts[1], int(parts[2]), parts[3], parts[5], log))
    return tuple(found)


def _postmaster(
    access: str,
    data_dir: str | None,
    clusters: tuple[Cluster, ...],
    server: ServerFacts,
    problems: list[str],
) -> Postmaster | None:
    if data_dir is None:
        same = [c for c in clusters if c.version == str(server.major) and c.status == "online"]
        data_dir = same[0].data_directory if len(same) == 1 else None
    if data_dir is None:
        problems.append("postmaster not checked: data_directory unknown (needs a superuser scan)")
        return None
    code, out = _sh(access, f"head -1 {shlex.quote(data_dir + '/postmaster.pid')}")
    if code != 0 or not out.strip().isdigit():
        problems.append(f"postmaster not checked: cannot read {data_dir}/postmaster.pid")
        return None
    pid = int(out.strip())
    code, exe = _sh(access, f"readlink /proc/{pid}/exe")
    if code != 0:
        problems.append(f"postmaster not checked: cannot read /proc/{pid}/exe")
        return None
    exe = exe.strip()
    deleted = exe.endswith(" (deleted)")
    path = exe.removesuffix(" (deleted)")
    code, version = _sh(access, f"{shlex.quote(path)} --version")
    found = re.search(r"\)\s+(\d+(?:\.\d+)+)", version) if code == 0 else None
    return Postmaster(pid, path, deleted, found.group(1) if found else None)
