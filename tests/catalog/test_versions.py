from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecpatch.catalog.versions import PgvectorVersion, PgVersion, VersionError, VersionRange


@pytest.mark.parametrize(
    ("text", "major", "minor"),
    [
        ("16.4", "16", 4),
        ("9.6.24", "9.6", 24),
        ("18beta2", "18", 0),
        ("18rc1", "18", 0),
        ("10.0", "10", 0),
        ("16.4 (Ubuntu 16.4-1.pgdg22.04+1)", "16", 4),
    ],
)
def test_pg_parse(text: str, major: str, minor: int) -> None:
    v = PgVersion.parse(text)
    assert (v.major, v.minor) == (major, minor)


def test_pg_ordering_examples() -> None:
    order = ["9.6.0", "9.6.24", "10beta1", "10.0", "16.2", "16.10", "18beta2", "18rc1", "18.0"]
    parsed = [PgVersion.parse(v) for v in order]
    assert parsed == sorted(parsed)
    assert PgVersion.from_num(90624) == PgVersion.parse("9.6.24")
    assert PgVersion.from_num(160004) == PgVersion.parse("16.4")


@pytest.mark.parametrize("bad", ["", "abc", "9", "16.4.1.2", "18beta2.1"])
def test_pg_rejects(bad: str) -> None:
    with pytest.raises(VersionError):
        PgVersion.parse(bad)


def test_pgvector_parse() -> None:
    assert PgvectorVersion.parse("v0.8.1") == PgvectorVersion.parse("0.8.1")
    assert str(PgvectorVersion.parse("0")) == "0.0.0"
    assert PgvectorVersion.parse("0.8.10") > PgvectorVersion.parse("0.8.9")
    assert PgvectorVersion.parse("0.9.0-rc1") < PgvectorVersion.parse("0.9.0")


pg_versions = st.one_of(
    st.builds(
        lambda mj, mi: PgVersion.parse(f"{mj}.{mi}"), st.integers(10, 30), st.integers(0, 40)
    ),
    st.builds(lambda a, mi: PgVersion.parse(f"9.{a}.{mi}"), st.integers(0, 6), st.integers(0, 30)),
    st.builds(
        lambda mj, s, n: PgVersion.parse(f"{mj}{s}{n}"),
        st.integers(10, 30),
        st.sampled_from(["beta", "rc", "alpha"]),
        st.integers(1, 5),
    ),
)
vec_versions = st.builds(
    lambda a, b, c: PgvectorVersion((a, b, c)),
    st.integers(0, 2),
    st.integers(0, 12),
    st.integers(0, 12),
)


@given(pg_versions)
def test_pg_roundtrip(v: PgVersion) -> None:
    assert PgVersion.parse(str(v)) == v


@given(pg_versions, pg_versions, pg_versions)
def test_pg_total_order(a: PgVersion, b: PgVersion, c: PgVersion) -> None:
    assert (a <= b) or (b <= a)
    if a <= b and b <= c:
        assert a <= c


@given(st.integers(10, 30), st.sampled_from(["beta1", "rc1", "alpha3"]), st.integers(0, 30))
def test_prerelease_before_ga(major: int, pre: str, minor: int) -> None:
    assert (
        PgVersion.parse(f"{major}{pre}")
        < PgVersion.parse(f"{major}.0")
        <= PgVersion.parse(f"{major}.{minor}")
    )
    assert PgVersion.parse(f"{major - 1}.{minor}") < PgVersion.parse(f"{major}{pre}")


@given(vec_versions, vec_versions, vec_versions)
def test_range_semantics(lo: PgvectorVersion, hi: PgvectorVersion, v: PgvectorVersion) -> None:
    rng = VersionRange(introduced=lo, fixed=hi)
    assert (v in rng) == (lo <= v < hi)
    inclusive = VersionRange(introduced=lo, last_affected=hi)
    assert (v in inclusive) == (lo <= v <= hi)
    assert (v in VersionRange(fixed=hi)) == (v < hi)
