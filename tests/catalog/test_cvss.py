from __future__ import annotations

import pytest

from vecpatch.catalog.cvss import CvssError, Severity, cvss31_base_score, parse_cvss


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:H", 8.1),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", 4.3),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8),
        ("CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N", 3.1),
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
    ],
)
def test_cvss31_scores(vector: str, score: float) -> None:
    assert cvss31_base_score(vector) == score


def test_cvss4_level() -> None:
    v = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert parse_cvss(v).severity is Severity.CRITICAL and parse_cvss(v).estimated
    assert parse_cvss(v, 7.3).severity is Severity.HIGH


@pytest.mark.parametrize(
    "bad",
    ["CVSS:3.1/AV:N", "CVSS:3.1/AV:X/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "nonsense", "CVSS:4.0/AV:N"],
)
def test_bad_vectors(bad: str) -> None:
    with pytest.raises(CvssError):
        parse_cvss(bad)


def test_bundled_scores_agree_with_data(catalog) -> None:  # type: ignore[no-untyped-def]
    """Where the data states a score and a vector, the computed score matches it."""
    checked = 0
    for adv in catalog.advisories:
        stated = adv.record.get("database_specific", {}).get("cvss_v3_base_score")
        if adv.cvss and stated is not None:
            assert adv.score == stated, adv.id
            checked += 1
    assert checked >= 20
