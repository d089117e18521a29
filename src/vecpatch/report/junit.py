"""JUnit XML: one test suite per target, one test case per database (and its server).

CI systems show a failed case per database whose findings reach ``--fail-on``,
and an errored case per database that could not be scanned.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vecpatch.findings import Finding, severity_rank
from vecpatch.report.model import ScanReport, TargetReport


def render(report: ScanReport, fail_on: str = "high") -> str:
    suites = ET.Element("testsuites", name="vecpatch scan")
    for target in report.targets:
        suites.append(_suite(target, severity_rank(fail_on)))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _suite(t: TargetReport, threshold: int) -> ET.Element:
    suite = ET.Element("testsuite", name=t.target)
    cases: list[tuple[str, tuple[Finding, ...], str | None]] = [
        ("server", t.findings, t.failure.reason if t.failure else None)
    ]
    cases += [
        (db.name, db.findings, db.failure.reason if db.failure else None) for db in t.databases
    ]
    failures = errors = 0
    for name, findings, error in cases:
        case = ET.SubElement(suite, "testcase", classname=t.target, name=name)
        bad = [f for f in findings if f.rank >= threshold and not f.muted]
        if error is not None:
            errors += 1
            ET.SubElement(case, "error", message=error)
        elif bad:
            failures += 1
            failure = ET.SubElement(case, "failure", message=_summary(bad))
            failure.text = "\n".join(f"{f.kind.value} {f.id or ''}: {f.next_action}" for f in bad)
        others = [f for f in findings if f not in bad]
        if others:
            ET.SubElement(case, "system-out").text = _summary(others)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    return suite


def _summary(findings: list[Finding] | tuple[Finding, ...]) -> str:
    return "; ".join(f"{f.kind.value}{' ' + f.id if f.id else ''} ({f.severity})" for f in findings)
