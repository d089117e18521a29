"""Applicability conditions: when an affected version is actually exposed.

A version in range is *affected*; it is *exposed* only when every condition holds
for the server's facts. Conditions are derived from the advisory data
(``database_specific`` / ``ecosystem_specific``) by :func:`derive_conditions`, or
given explicitly under the ``vecpatch_conditions`` key of an OSV record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vecpatch.catalog.facts import ServerFacts
from vecpatch.catalog.sanitize import clean_text


@dataclass(frozen=True)
class Verdict:
    """One condition's answer: does it hold, and why; optionally a mitigation in force."""

    holds: bool
    reason: str
    mitigated: bool = False


@dataclass(frozen=True)
class PlatformCondition:
    """Only builds with this pointer width are vulnerable (e.g. 32-bit only)."""

    pointer_bits: int

    def evaluate(self, facts: ServerFacts) -> Verdict:
        want = f"{self.pointer_bits}-bit"
        if facts.pointer_bits is None:
            return Verdict(True, f"only {want} builds are vulnerable; word size unknown, assumed")
        if facts.pointer_bits == self.pointer_bits:
            return Verdict(True, f"server is a {want} build")
        return Verdict(
            False, f"only {want} builds are vulnerable; server is {facts.pointer_bits}-bit"
        )

    def describe(self) -> str:
        return f"{self.pointer_bits}-bit builds only"


@dataclass(frozen=True)
class ComponentCondition:
    """Only servers where one of these extensions or languages is installed."""

    names: tuple[str, ...]
    label: str

    def evaluate(self, facts: ServerFacts) -> Verdict:
        present = [n for n in self.names if facts.has_component(n)]
        if present:
            return Verdict(True, f"{self.label} is installed ({', '.join(present)})")
        return Verdict(False, f"{self.label} is not installed in any database")

    def describe(self) -> str:
        return f"needs {self.label} ({', '.join(self.names)})"


@dataclass(frozen=True)
class ClientCondition:
    """The flaw is in client programs or libpq shipped with the server packages.

    A server probe cannot see which clients run, so this never clears exposure; it
    says where the risk is so the reader patches the client hosts too.
    """

    label: str

    def evaluate(self, facts: ServerFacts) -> Verdict:
        return Verdict(True, f"client-side ({self.label}): exposed wherever these binaries run")

    def describe(self) -> str:
        return f"client-side: {self.label}"


@dataclass(frozen=True)
class FeatureCondition:
    """Only reachable through a feature; a setting can switch that path off.

    The finding stays exposed even when the setting is in force (settings change, and
    the data does not prove the mitigation), but it is marked mitigated.
    """

    feature: str
    setting: str | None = None
    mitigating_value: str | None = None

    def evaluate(self, facts: ServerFacts) -> Verdict:
        if self.setting is None:
            return Verdict(True, f"reachable through {self.feature}")
        current = facts.settings.get(self.setting)
        if current is not None and current.strip() == self.mitigating_value:
            return Verdict(
                True,
                f"reachable through {self.feature}; mitigated while "
                f"{self.setting} = {current.strip()}",
                mitigated=True,
            )
        shown = "unknown" if current is None else current
        return Verdict(True, f"reachable through {self.feature} ({self.setting} = {shown})")

    def describe(self) -> str:
        return f"only via {self.feature}"

    def mitigation(self) -> str | None:
        if self.setting is None:
            return None
        return f"set {self.setting} = {self.mitigating_value} until upgraded"


@dataclass(frozen=True)
class NoteCondition:
    """A precondition we cannot check from server facts; kept as a reason line."""

    text: str

    def evaluate(self, facts: ServerFacts) -> Verdict:
        return Verdict(True, f"precondition not checked: {self.text}")

    def describe(self) -> str:
        return self.text


Condition = (
    PlatformCondition | ComponentCondition | ClientCondition | FeatureCondition | NoteCondition
)

# Procedural languages: the component text names the language, the catalog the
# trusted and untrusted variants.
_LANGUAGES = {
    "pl/perl": ("PL/Perl", ("plperl", "plperlu")),
    "pl/tcl": ("PL/Tcl", ("pltcl", "pltclu")),
    "pl/python": ("PL/Python", ("plpython3u", "plpythonu", "plpython2u")),
}
_CONTRIB = re.compile(r"contrib/([a-z0-9_]+)")
_BITS = re.compile(r"\b(32|64)-bit (?:builds |systems )?only\b", re.IGNORECASE)
_SETTING = re.compile(r"\b([a-z_]+)\s*=\s*([0-9a-z_]+)\b")


def _component_conditions(component: str) -> list[Condition]:
    text = component.lower()
    found: list[Condition] = []
    hits = [(label, names) for key, (label, names) in _LANGUAGES.items() if key in text]
    if hits:
        found.append(
            ComponentCondition(
                tuple(n for _, names in hits for n in names), " / ".join(lb for lb, _ in hits)
            )
        )
    mods = _CONTRIB.findall(text)
    if mods:
        found.append(ComponentCondition(tuple(mods), f"contrib module {', '.join(mods)}"))
    if not found and "client" in text:
        found.append(ClientCondition(clean_text(component.replace("(client)", "")).strip()))
    return found


def _explicit(entries: object) -> list[Condition]:
    """Conditions written out in a record (our own key, for company advisories)."""
    out: list[Condition] = []
    if not isinstance(entries, list):
        return out
    for e in entries:
        if not isinstance(e, Mapping):
            continue
        kind = e.get("type")
        if kind == "platform" and isinstance(e.get("pointer_bits"), int):
            out.append(PlatformCondition(int(e["pointer_bits"])))
        elif kind == "component" and isinstance(e.get("names"), list):
            names = tuple(clean_text(n, 64).lower() for n in e["names"] if isinstance(n, str))
            if names:
                out.append(ComponentCondition(names, clean_text(e.get("label") or names[0])))
        elif kind == "feature" and isinstance(e.get("feature"), str):
            setting = e.get("setting")
            value = e.get("mitigating_value")
            out.append(
                FeatureCondition(
                    clean_text(e["feature"]),
                    clean_text(setting, 64) if isinstance(setting, str) else None,
                    clean_text(value, 64) if isinstance(value, str) else None,
                )
            )
        elif kind == "client":
            out.append(ClientCondition(clean_text(e.get("label") or "client")))
    return out


def derive_conditions(record: Mapping[str, Any]) -> tuple[Condition, ...]:
    """Read the conditions an OSV record states, across its specific-data fields."""
    db: Mapping[str, Any] = record.get("database_specific") or {}
    specifics: list[Mapping[str, Any]] = [db]
    for aff in record.get("affected") or []:
        if isinstance(aff, Mapping):
            extra = [aff.get("database_specific") or {}, aff.get("ecosystem_specific") or {}]
            specifics += [e for e in extra if isinstance(e, Mapping)]
    conds: list[Condition] = []
    for spec in specifics:
        conds += _explicit(spec.get("vecpatch_conditions"))
    texts: list[str] = []
    for spec in specifics:
        for key in ("platform_or_config_conditions", "platforms"):
            val = spec.get(key)
            texts += [v for v in (val if isinstance(val, list) else [val]) if isinstance(v, str)]
    joined = " ".join(texts)
    if not any(isinstance(c, PlatformCondition) for c in conds):
        bits = _BITS.search(joined)
        if bits:
            conds.append(PlatformCondition(int(bits.group(1))))
    component = db.get("component")
    if isinstance(component, str) and not any(isinstance(c, ComponentCondition) for c in conds):
        conds += _component_conditions(component)
    mitigation = db.get("mitigation_if_not_upgradable")
    if "parallel" in joined.lower() and "hnsw" in joined.lower():
        setting = _SETTING.search(mitigation) if isinstance(mitigation, str) else None
        conds.append(
            FeatureCondition(
                "parallel HNSW index builds",
                setting.group(1) if setting else None,
                setting.group(2) if setting else None,
            )
        )
    return tuple(conds)
