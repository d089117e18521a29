"""Which distro archives this host already trusts, read from its apt sources.

The distro feed follows the mirrors the system is configured with instead of a
host name baked into vecpatch: a site's own mirror or proxy is what it can reach.
Both formats are read: one-line ``sources.list`` and deb822 ``*.sources``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

APT_DIR = Path("/etc/apt")
# Debian's current stable and oldstable; a suite the host does not list is read too,
# so a bookworm host also learns what trixie ships (names, not years, so no expiry).
DEBIAN_CODENAMES = ("bookworm", "trixie")
_POCKET = re.compile(r"^(?P<code>[a-z]+)(?P<pocket>-security|-updates)?(?:/updates)?$")


@dataclass(frozen=True)
class Archive:
    """One archive root and the suites and components to read from it."""

    distro: str
    url: str
    suites: tuple[str, ...]
    components: tuple[str, ...] = ("main",)


def _one_line(text: str) -> list[tuple[str, str, list[str]]]:
    out = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            out.append((words[1], words[2], words[3:]))
    return out


def _deb822(text: str) -> list[tuple[str, str, list[str]]]:
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled") == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                out.append((uri, suite, fields.get("components", "").split()))
    return out


def system_entries(apt_dir: Path = APT_DIR) -> list[tuple[str, str, list[str]]]:
    """``(uri, suite, components)`` for every enabled ``deb`` line of the host."""
    entries = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if path.name.endswith(".sources"):
            entries += _deb822(text)
        elif path.name.endswith(".list"):
            entries += _one_line(text)
    return entries


def default_archives(apt_dir: Path = APT_DIR) -> list[Archive]:
    """Debian/Ubuntu archives from the host's apt sources, widened to current codenames."""
    return archives_from_entries(system_entries(apt_dir))


def archives_from_lines(lines: list[str]) -> list[Archive]:
    """Archives from ``deb URL SUITE COMPONENT...`` lines (``--distro-archive``)."""
    entries = _one_line(
        "\n".join(line if line.startswith("deb ") else f"deb {line}" for line in lines)
    )
    if len(entries) != len(lines):
        raise ValueError("use 'deb URL SUITE [COMPONENT ...]'")
    return archives_from_entries(entries, widen=False)


def archives_from_entries(
    entries: list[tuple[str, str, list[str]]], *, widen: bool = True
) -> list[Archive]:
    """Group ``(uri, suite, components)`` by archive root; ``widen``: Debian gets both codenames."""
    by_url: dict[str, tuple[str, set[str], set[str]]] = {}
    for uri, suite, components in entries:
        m = _POCKET.match(suite)
        if m is None or not uri.startswith(("http://", "https://")):
            continue
        distro = "ubuntu" if "ubuntu" in uri else "debian"
        _, suites, comps = by_url.setdefault(uri.rstrip("/"), (distro, set(), set()))
        pocket = m.group("pocket") or ""
        suites.add(suite)
        if widen and distro == "debian" and m.group("code") in DEBIAN_CODENAMES:
            suites.update(f"{c}{pocket}" for c in DEBIAN_CODENAMES)
        comps.update(c for c in components if c in ("main", "universe"))
    return [
        Archive(distro, url, tuple(sorted(suites)), tuple(sorted(comps or {"main"})))
        for url, (distro, suites, comps) in sorted(by_url.items())
    ]
